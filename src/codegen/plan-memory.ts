import type { Graph, Value } from '../ir/graph.js';
import { numel } from '../ir/types.js';
import { deviceBufferBytes } from '../runtime/program.js';

/** Where each intermediate value lives: a slot of a few shared scratch buffers. */
export interface MemoryPlan {
  /** Scratch slot of every intermediate value (the root of each alias class). */
  readonly slotOf: ReadonlyMap<Value, number>;
  /** Size in bytes of each slot. */
  readonly slotBytes: readonly number[];
  /** Bytes the intermediates would take with one buffer each. */
  readonly naiveBytes: number;
}

/**
 * Liveness-based reuse of scratch buffers: walking the nodes in execution order, a value takes
 * the smallest free slot that fits (or grows the largest free one, or opens a new slot) when it
 * is produced, and frees its slot after its last reader. `root(v)` maps an aliasing result
 * (reshape) to the value whose buffer it shares; `pinned` values (graph outputs and what they
 * alias) keep buffers of their own.
 */
export function planMemory(graph: Graph, root: (v: Value) => Value, isScratch: (v: Value) => boolean): MemoryPlan {
  const lastUse = new Map<Value, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of n.inputs) lastUse.set(root(v), i);
  });
  const slotOf = new Map<Value, number>();
  const slotBytes: number[] = [];
  const free = new Set<number>();
  let naiveBytes = 0;
  graph.nodes.forEach((n, i) => {
    for (const v of n.outputs) {
      if (root(v) !== v || !isScratch(v)) continue;
      const bytes = deviceBufferBytes(v.type.dtype, numel(v.type.shape));
      naiveBytes += bytes;
      const fits = [...free].filter((s) => slotBytes[s]! >= bytes).sort((a, b) => slotBytes[a]! - slotBytes[b]!);
      let slot = fits[0];
      if (slot === undefined && free.size) {
        slot = [...free].sort((a, b) => slotBytes[b]! - slotBytes[a]!)[0]!;
        slotBytes[slot] = bytes;
      }
      if (slot === undefined) {
        slot = slotBytes.length;
        slotBytes.push(bytes);
      }
      free.delete(slot);
      slotOf.set(v, slot);
      // A result nobody reads is dead at once.
      if (!lastUse.has(v)) free.add(slot);
    }
    for (const v of new Set(n.inputs.map(root))) {
      const s = slotOf.get(v);
      if (s !== undefined && lastUse.get(v) === i) free.add(s);
    }
  });
  return { slotOf, slotBytes, naiveBytes };
}
