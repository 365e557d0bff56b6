import { hasOp } from './registry.js';

/** Per-op entries of one capability (CPU kernels, GPU lowerings, gradient rules), keyed by op name. */
export type OpTable<T> = Readonly<Record<string, T>>;

/**
 * The one way a layer registers a capability: each op family file exports a table, and the
 * layer's index lists the tables. Merging checks what a spread would hide: an op given twice,
 * or a name that is no IR op (a typo, or an op that was renamed).
 */
export function opTable<T>(capability: string, tables: readonly OpTable<T>[]): OpTable<T> {
  const out: Record<string, T> = {};
  for (const table of tables) {
    for (const [op, entry] of Object.entries(table)) {
      if (!hasOp(op)) throw new Error(`${capability} for '${op}', which is no IR op`);
      if (Object.hasOwn(out, op)) throw new Error(`${capability} for '${op}' is registered twice`);
      out[op] = entry;
    }
  }
  return out;
}
