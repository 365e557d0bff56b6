import type { Graph, Value } from './graph.js';
import { getOp } from './ops/index.js';

/** How a graph's values map to device buffers. */
export interface BufferRoles {
  /**
   * The value whose buffer `v` shares: a reshape's (or any `aliasesInput` op's) result is its
   * input's bytes, so chains of them all map to the first input.
   */
  readonly root: (v: Value) => Value;
  /**
   * Whether `v` is an intermediate a memory plan places: computed by a node, not a constant,
   * and not (an alias of) a graph output, which gets a buffer of its own.
   */
  readonly isScratch: (v: Value) => boolean;
}

/** The buffer roles of a graph's values. */
export function bufferRoles(graph: Graph): BufferRoles {
  const aliasOf = new Map<Value, Value>();
  for (const n of graph.nodes) if (getOp(n.op).aliasesInput) aliasOf.set(n.output, aliasOf.get(n.inputs[0]!) ?? n.inputs[0]!);
  const root = (v: Value) => aliasOf.get(v) ?? v;
  const pinned = new Set(graph.outputs.map(root));
  return { root, isScratch: (v) => v.producer !== null && v.producer.op !== 'const' && !pinned.has(v) };
}
