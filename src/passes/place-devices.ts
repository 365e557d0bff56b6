import type { Graph, Node, Value } from '../ir/graph.js';
import type { Device } from '../ir/types.js';
import { formatType, isGpu, numel } from '../ir/types.js';
import { KilnError } from '../ir/errors.js';
import type { Pass } from './pass.js';
import { GraphRebuilder } from './rebuild.js';

/** Below this many elements, computing on the host beats two transfers around it. */
const SMALL_ELEMENTS = 4096;

/**
 * Decides where each node runs and makes every device crossing explicit.
 * - A node keeps the device its results were given (by `.to(device)` in the frontend, or the
 *   IR text: `@webgpu`, `@webgpu:1`, `@cpu`), except that an op without a WebGPU kernel falls
 *   back to the CPU.
 * - Ping-pong: a small node left on WebGPU whose operands all come from the CPU and whose
 *   readers are all on the CPU moves there too, saving a transfer each way.
 * - Every operand on another device than its reader gets a `transfer` node (one per value and
 *   device; between two WebGPU devices too, so a model split across GPUs crosses only there); constants are instead copied onto the device that reads them, at no run-time cost.
 * - Graph outputs keep their declared devices; transfers that no longer cross a device vanish.
 * - String values live on the host: a node that reads or makes one runs on the CPU, and a string
 *   output stays there (a string crossing to a GPU is an error).
 */
export const placeDevices: Pass = {
  name: 'place-devices',
  description: 'fall back to the CPU for ops without a WebGPU kernel; insert transfers at device boundaries',
  run(g: Graph, ctx): Graph {
    const hasGpu = ctx.hasGpuKernel ?? (() => true);
    const deviceOf = new Map<Node, Device>();
    for (const n of g.nodes) {
      const wanted = n.outputs[0]?.type.device ?? 'webgpu';
      const strings = touchesStrings(n);
      const fallback = isGpu(wanted) && n.op !== 'transfer' && (strings || (n.op !== 'const' && !hasGpu(n.op)));
      if (fallback) ctx.log?.(`place-devices: ${n.op} -> %${n.outputs[0]?.name} ${strings ? 'computes on strings' : 'has no WebGPU kernel'}; it runs on the CPU`);
      deviceOf.set(n, fallback ? 'cpu' : wanted);
    }
    const users = g.users();
    const valueDevice = (v: Value): Device => (v.producer ? deviceOf.get(v.producer)! : v.type.device);
    for (const n of g.nodes) {
      if (!isGpu(deviceOf.get(n)!) || n.op === 'const' || n.op === 'transfer' || n.inputs.length === 0) continue;
      const small = n.outputs.every((o) => numel(o.type.shape) <= SMALL_ELEMENTS);
      const readers = n.outputs.flatMap((o) => users.get(o) ?? []);
      const fromCpu = n.inputs.every((v) => v.producer?.op === 'const' || valueDevice(v) === 'cpu');
      const toCpu = readers.length > 0 && readers.every((r) => deviceOf.get(r) === 'cpu' || r.op === 'transfer');
      if (small && fromCpu && toCpu && !n.outputs.some((o) => g.outputs.includes(o))) deviceOf.set(n, 'cpu');
    }

    const b = new GraphRebuilder(g);
    const moved = new Map<string, Value>(); // `${value id}@${device}` -> the value on that device
    const on = (v: Value, device: Device): Value => {
      const nv = b.get(v);
      if (nv.type.device === device) return nv;
      if (nv.type.dtype === 'string' && nv.producer?.op !== 'const') {
        throw new KilnError(`%${v.name} (${formatType(v.type)}) would have to move to ${device}, but string tensors live on the host only (declare string inputs and outputs @cpu)`);
      }
      const key = `${nv.id}@${device}`;
      let t = moved.get(key);
      if (!t) {
        const src = nv.producer;
        t = src?.op === 'const'
          ? b.add('const', [], src.attrs, device).output
          : b.add('transfer', [nv], {}, device).output;
        moved.set(key, t);
      }
      return t;
    };
    for (const n of g.nodes) {
      const device = deviceOf.get(n)!;
      if (n.op === 'transfer') {
        b.replace(n.output, on(n.inputs[0]!, n.output.type.device));
        continue;
      }
      b.copy(n, n.inputs.map((v) => on(v, device)), undefined, device);
    }
    // Outputs stay where the graph declares them.
    const outs = g.outputs.map((v) => on(v, v.type.dtype === 'string' ? 'cpu' : v.type.device));
    g.outputs.forEach((v, i) => b.replace(v, outs[i]!));
    return b.finish();
  },
};

/** Whether a node reads or makes a string value (which only the CPU holds). */
function touchesStrings(n: Node): boolean {
  return [...n.inputs, ...n.outputs].some((v) => v.type.dtype === 'string');
}
