import type { Graph, Value } from './graph.js';

/**
 * Copies graph `g`'s nodes into `target`, its inputs bound to `inputs` (values of `target`, in
 * the order of g's inputs), and returns the values standing for g's outputs. The copies take
 * fresh names: g's own may already be taken in `target`.
 */
export function inlineGraph(target: Graph, g: Graph, inputs: readonly Value[]): Value[] {
  if (inputs.length !== g.inputs.length) throw new Error(`internal: graph ${g.name} takes ${g.inputs.length} inputs, given ${inputs.length}`);
  const map = new Map<Value, Value>(g.inputs.map((v, i) => [v, inputs[i]!]));
  for (const n of g.nodes) {
    const copy = target.addNode(n.op, n.inputs.map((v) => map.get(v)!), n.attrs, { types: n.outputs.map((o) => o.type), device: n.outputs[0]?.type.device });
    n.outputs.forEach((o, i) => map.set(o, copy.outputs[i]!));
  }
  return g.outputs.map((v) => map.get(v)!);
}
