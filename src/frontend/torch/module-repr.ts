import type { AnyModule } from './module.js';

// A module printed as PyTorch prints it (`print(model)`): its class and extra description, then
// each child on its own line, indented, by name:
//   Sequential(
//     (0): Linear(in_features=4, out_features=3, bias=True)
//     (1): ReLU()
//   )

export function moduleRepr(m: AnyModule): string {
  const extra = m.extraRepr();
  const children = m.namedChildren();
  if (!children.length) return `${m.constructor.name}(${extra})`;
  const lines = [
    ...(extra ? extra.split('\n') : []),
    ...children.map(([name, child]) => `(${name}): ${moduleRepr(child)}`),
  ];
  return `${m.constructor.name}(\n${lines.map((l) => l.replace(/^/gm, '  ')).join('\n')}\n)`;
}

/** PyTorch's spelling of a value in an extra description: True/False, tuples in parentheses. */
export function reprValue(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `(${v.map(reprValue).join(', ')}${v.length === 1 ? ',' : ''})`;
  if (v === undefined || v === null) return 'None';
  return String(v);
}

/** A float as Python prints it: 1e-05 below 1e-4 (a two-digit exponent), 1.0 for an integral value. */
export function reprNumber(x: number): string {
  if (x !== 0 && Number.isFinite(x) && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e16)) {
    return x.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return Number.isInteger(x) ? `${x}.0` : String(x);
}
