// Which entries of the PyTorch-like API apply which IR op. The API names each op it applies as a
// string literal in the method's own body (`apply('relu', [this])`, `binary('add', this, o)`),
// so reading each exported method's source finds them without a second table to keep in step.
import * as kiln from '../index.js';
import { hasOp } from '../ir/ops/index.js';

type Fn = (...args: never[]) => unknown;

/** Every public function of the API, by the name a user calls it with. */
function apiFunctions(): [string, Fn][] {
  const out: [string, Fn][] = [];
  const methods = (prefix: string, proto: object) => {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (name !== 'constructor' && typeof d?.value === 'function') out.push([`${prefix}.${name}`, d.value as Fn]);
    }
  };
  methods('Tensor', kiln.Tensor.prototype);
  for (const [name, f] of Object.entries(kiln.functional)) if (typeof f === 'function') out.push([`functional.${name}`, f as Fn]);
  for (const [name, cls] of Object.entries(kiln.nn)) {
    if (typeof cls === 'function' && cls.prototype instanceof kiln.nn.Module) methods(`nn.${name}`, cls.prototype as object);
  }
  // Free functions of the tensor API (cat, stack, where, the factories).
  for (const name of ['tensor', 'fromArray', 'randn', 'rand', 'zeros', 'ones', 'full', 'arange', 'cat', 'stack', 'where'] as const) {
    out.push([name, kiln[name] as Fn]);
  }
  return out;
}

/** IR op -> the API entries whose body names it, sorted. */
export function frontendEntries(): Map<string, string[]> {
  const byOp = new Map<string, string[]>();
  for (const [entry, fn] of apiFunctions()) {
    const ops = new Set([...Function.prototype.toString.call(fn).matchAll(/['"]([a-z][a-z0-9_]*)['"]/g)].map((m) => m[1]!).filter(hasOp));
    for (const op of ops) byOp.set(op, [...(byOp.get(op) ?? []), entry]);
  }
  for (const list of byOp.values()) list.sort();
  return byOp;
}
