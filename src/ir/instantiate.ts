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
