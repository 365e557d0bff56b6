import { Graph, type Node, type Value } from '../ir/graph.js';
import { gpuIndexOf, isGpu, type Device, type TensorType } from '../ir/types.js';
import type { Segment, SegmentedProgram } from '../runtime/segmented.js';
import { generate } from './generate.js';
import type { LowerContext } from './lower/lowering.js';

/**
 * Splits a placed graph into runs of nodes on one device, in execution order: WebGPU runs are
 * compiled to Programs (for the device they name: a Program itself runs on whichever device
 * loads it), CPU runs stay graphs for the reference executor. `transfer` nodes become the
 * crossings between segments, host to device, device to host, or device to device.
 */
export function segment(graph: Graph, ctx: LowerContext = {}): SegmentedProgram {
  const aliases: Record<string, string> = {};
  const runs: { device: Device; nodes: Node[] }[] = [];
  for (const n of graph.nodes) {
    if (n.op === 'transfer') {
      aliases[n.output.name] = n.inputs[0]!.name;
      continue;
    }
    // A CPU segment whose sizes vary runs at each run's sizes (runOnCpu binds them); a WebGPU one
    // is a program for the range of sizes.
    const device = n.outputs[0]!.type.device;
    const last = runs.at(-1);
    if (last && last.device === device) last.nodes.push(n);
    else runs.push({ device, nodes: [n] });
  }
  const readers = graph.users();
  const outputs = new Set(graph.outputs.map((v) => v.name));
  // A value leaves its segment when a node elsewhere reads it (directly or through a transfer).
  const readOutside = (v: Value, inside: Set<Node>): boolean => {
    if (outputs.has(v.name)) return true;
    return (readers.get(v) ?? []).some((r) => (r.op === 'transfer' ? readOutside(r.output, inside) : !inside.has(r)));
  };
  const segments: Segment[] = runs.map((run, i) => {
    const inside = new Set(run.nodes);
    const sub = new Graph(`${graph.name}.${i}.${run.device}`);
    // Inside its Program, a WebGPU segment's values are on "the" device, whichever it is.
    const local = isGpu(run.device) ? 'webgpu' : run.device;
    const retype = (t: TensorType): TensorType => ({ ...t, device: local });
    const map = new Map<Value, Value>();
    for (const n of run.nodes) {
      for (const v of n.inputs) if (!map.has(v) && !(v.producer && inside.has(v.producer))) map.set(v, sub.addInput(v.name, retype(v.type)));
      const copy = sub.addNode(n.op, n.inputs.map((v) => map.get(v)!), n.attrs, {
        types: n.outputs.map((o) => retype(o.type)), names: n.outputs.map((o) => o.name), device: local,
      });
      n.outputs.forEach((o, k) => map.set(o, copy.outputs[k]!));
    }
    sub.setOutputs(run.nodes.flatMap((n) => n.outputs).filter((o) => readOutside(o, inside)).map((o) => map.get(o)!));
    return isGpu(run.device)
      ? { device: 'webgpu', index: gpuIndexOf(run.device), program: generate(sub, ctx).program }
      : { device: 'cpu', graph: sub };
  });
  return {
    name: graph.name,
    inputs: graph.inputs.map((v) => v.name),
    outputs: graph.outputs.map((v) => v.name),
    segments,
    aliases,
    transfers: graph.nodes.filter((n) => n.op === 'transfer').length,
  };
}
