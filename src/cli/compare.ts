import { stringsOf, type TensorData } from '../ir/tensor-data.js';
import { numbers } from '../io/random-inputs.js';

// `kiln run --compare cpu --atol X --rtol Y`: each output element must satisfy
// |got - want| <= atol + rtol * |want| (numpy's allclose), NaN matching NaN only.

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** Defaults: f32 kernels reorder sums (about 1e-6 relative); f16 stores about 3 decimal digits. */
export function defaultTolerance(precision: 'fp32' | 'fp16'): Tolerance {
  return precision === 'fp16' ? { atol: 1e-2, rtol: 1e-2 } : { atol: 1e-4, rtol: 1e-4 };
}

export interface OutputComparison {
  readonly name: string;
  readonly maxAbsDiff: number;
  /** Elements outside the tolerance, of `elements`. */
  readonly outside: number;
  readonly elements: number;
  /** The first element outside: its index, kiln's value and the CPU reference's. */
  readonly worst?: { readonly index: number; readonly got: number; readonly want: number };
}

export function compareOutput(name: string, got: TensorData, want: TensorData, tol: Tolerance): OutputComparison {
  if (got.dtype === 'string' || want.dtype === 'string') return compareStrings(name, got, want);
  const a = numbers(got);
  const b = numbers(want);
  let max = 0;
  let outside = 0;
  let worst: OutputComparison['worst'];
  if (a.length !== b.length) return { name, maxAbsDiff: Infinity, outside: Math.max(a.length, b.length), elements: b.length };
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const bothNaN = Number.isNaN(x) && Number.isNaN(y);
    const d = bothNaN || x === y ? 0 : Math.abs(x - y);
    const bad = Number.isNaN(d) || d > tol.atol + tol.rtol * Math.abs(y);
    if (Number.isNaN(d) || d > max) max = Number.isNaN(d) ? Infinity : d;
    if (bad) {
      outside++;
      worst ??= { index: i, got: x, want: y };
    }
  }
  return { name, maxAbsDiff: max, outside, elements: a.length, ...(worst ? { worst } : {}) };
}

/** `max abs diff vs cpu (y): 3.278e-7, within atol 1e-4 + rtol 1e-4` (or how many elements are outside). */
export function formatComparison(c: OutputComparison, tol: Tolerance): string {
  const head = `max abs diff vs cpu (${c.name}): ${c.maxAbsDiff.toExponential(3)}`;
  const bound = `atol ${tol.atol} + rtol ${tol.rtol}`;
  if (!c.outside) return `${head}, within ${bound}`;
  const w = c.worst ? `; first at element ${c.worst.index}: ${c.worst.got} vs ${c.worst.want}` : '';
  return `${head}, OUTSIDE ${bound} at ${c.outside} of ${c.elements} elements${w}`;
}

/** String outputs agree element by element or not at all (a difference counts as infinite). */
function compareStrings(name: string, got: TensorData, want: TensorData): OutputComparison {
  const [a, b] = [got.dtype === 'string' ? stringsOf(got) : [], want.dtype === 'string' ? stringsOf(want) : []];
  const outside = a.length === b.length && got.dtype === want.dtype ? b.filter((s, i) => a[i] !== s).length : Math.max(a.length, b.length, 1);
  return { name, maxAbsDiff: outside ? Infinity : 0, outside, elements: b.length };
}
