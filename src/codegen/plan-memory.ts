import type { Graph, Value } from '../ir/graph.js';
import { bufferRoles } from '../ir/alias.js';
import { numel } from '../ir/types.js';
import { deviceBufferBytes } from '../runtime/program.js';

/** Where each intermediate value lives: a slot of a few shared scratch buffers. */
export interface MemoryPlan {
  /** The value whose buffer `v` shares (a reshape's input), or `v` itself. */
  readonly root: (v: Value) => Value;
  /** Scratch slot of every intermediate value (the root of each alias class). */
  readonly slotOf: ReadonlyMap<Value, number>;
  /** Size in bytes of each slot. */
  readonly slotBytes: readonly number[];
  /** Bytes the intermediates would take with one buffer each. */
  readonly naiveBytes: number;
}

interface Interval {
  readonly value: Value;
  readonly bytes: number;
  /** Index of the producing node and of the last reader (inclusive). */
  readonly from: number;
  readonly to: number;
}

/**
 * The memory plan of a graph on one device: a reshape's result shares its input's buffer,
 * graph outputs and constants get buffers of their own, every other result is planned.
 */
export function planGraphMemory(graph: Graph): MemoryPlan {
  const { root, isScratch } = bufferRoles(graph);
  return planMemory(graph, root, isScratch);
}

/** Bytes of all scratch slots of a plan. */
export const plannedBytes = (plan: MemoryPlan): number => plan.slotBytes.reduce((a, b) => a + b, 0);

/**
 * Liveness-based reuse of scratch buffers, greedy by size: values are placed largest first,
 * each into the first slot none of whose occupants is alive at the same time (every earlier
 * occupant is at least as large, so the slot fits), or into a new slot. A value is alive from
 * the node producing it to its last reader, both inclusive, so a kernel never writes a buffer
 * it also reads. `root(v)` maps an aliasing result (reshape) to the value whose buffer it
 * shares, extending that value's life; `isScratch` picks the values planned here.
 */
export function planMemory(graph: Graph, root: (v: Value) => Value, isScratch: (v: Value) => boolean): MemoryPlan {
  const from = new Map<Value, number>();
  const to = new Map<Value, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of n.outputs) if (root(v) === v && isScratch(v)) { from.set(v, i); to.set(v, i); }
    for (const v of n.inputs) {
      const r = root(v);
      if (from.has(r)) to.set(r, i);
    }
  });
  const intervals: Interval[] = [...from.keys()].map((value) => ({
    value, bytes: deviceBufferBytes(value.type.dtype, numel(value.type.shape)), from: from.get(value)!, to: to.get(value)!,
  }));
  // Largest first; ties in program order so plans are deterministic.
  intervals.sort((a, b) => b.bytes - a.bytes || a.from - b.from);
  const slots: { bytes: number; occupants: Interval[] }[] = [];
  const slotOf = new Map<Value, number>();
  for (const iv of intervals) {
    let s = slots.findIndex((slot) => slot.occupants.every((o) => o.to < iv.from || iv.to < o.from));
    if (s < 0) {
      s = slots.length;
      slots.push({ bytes: iv.bytes, occupants: [] });
    }
    slots[s]!.occupants.push(iv);
    slotOf.set(iv.value, s);
  }
  return { root, slotOf, slotBytes: slots.map((s) => s.bytes), naiveBytes: intervals.reduce((a, iv) => a + iv.bytes, 0) };
}
