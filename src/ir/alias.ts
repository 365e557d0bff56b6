import type { Graph, Value } from './graph.js';
import { getOp } from './ops/index.js';

/**
 * For each value, the value whose device buffer it shares: a reshape's (or any `aliasesInput`
 * op's) result is its input's bytes, so chains of them all map to the first input.
 */
export function bufferRoots(graph: Graph): (v: Value) => Value {
  const aliasOf = new Map<Value, Value>();
  for (const n of graph.nodes) if (getOp(n.op).aliasesInput) aliasOf.set(n.output, aliasOf.get(n.inputs[0]!) ?? n.inputs[0]!);
  return (v) => aliasOf.get(v) ?? v;
}
