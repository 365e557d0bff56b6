import { isGraphAttr, type AttrValue, type Attrs } from './attrs.js';
import { Graph, type Value } from './graph.js';
import { evalDim, type SizeEnv } from './size-expr.js';
import { dimsOf, type TensorType } from './types.js';

/**
 * The static graph a graph with symbolic extents is when its sizes take the values in `env`:
 * inputs get the extents those sizes give and every node's types are inferred again (fused
 * bodies too). What the CPU reference runs, and what checks a symbolic program against.
 */
export function instantiateGraph(g: Graph, env: SizeEnv): Graph {
  const out = new Graph(g.name);
  const map = new Map<Value, Value>();
  const staticType = (t: TensorType): TensorType => ({ dtype: t.dtype, shape: dimsOf(t).map((d) => evalDim(d, env)), device: t.device });
  for (const v of g.inputs) map.set(v, out.addInput(v.name, staticType(v.type)));
  for (const n of g.nodes) {
    const attrs: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(n.attrs as Attrs)) attrs[k] = isGraphAttr(v) ? instantiateGraph(v, env) : v;
    const copy = out.addNode(n.op, n.inputs.map((v) => map.get(v)!), attrs, {
      names: n.outputs.map((o) => o.name), device: n.outputs[0]?.type.device,
      types: n.outputs.map((o) => staticType(o.type)),
    });
    n.outputs.forEach((o, i) => map.set(o, copy.outputs[i]!));
  }
  out.setOutputs(g.outputs.map((v) => map.get(v)!));
  return out;
}

/**
 * The sizes a graph's inputs take from tensors of the given shapes (by input name), or
 * undefined for a graph without symbolic extents. Only inputs whose extents name a size bind
 * it; checking ranges and agreement is the runtime's (bindSizes) job.
 */
export function bindGraphSizes(g: Graph, shapes: Readonly<Record<string, { readonly shape: readonly number[] }>>): Map<string, number> | undefined {
  const env = new Map<string, number>();
  for (const v of g.inputs) {
    const given = shapes[v.name];
    if (!given || !v.type.dims) continue;
    v.type.dims.forEach((d, i) => {
      if (typeof d !== 'number' && d.vars().size === 1 && d.text === [...d.vars().keys()][0]) env.set(d.text, given.shape[i]!);
    });
  }
  return env.size ? env : undefined;
}
