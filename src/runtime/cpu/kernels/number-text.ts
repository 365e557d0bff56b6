import { KilnError } from '../../../ir/errors.js';
import { f32ToF16Bits } from '../../../ir/f16.js';
import type { DType } from '../../../ir/types.js';

// ONNX Cast between strings and numbers. From text: plain ("3.14", "1000") and scientific
// ("1e-5", "1E8") notation; "INF", "+INF", "-INF" and "NaN" in any case are the special values;
// to an integer type the value is then truncated ("100.5" gives 100). To text: NumPy's str() of
// the value (what the ONNX reference's astype(str) writes): the fewest digits that read back as
// the same value of its dtype, positional for 1e-4 <= |x| < 1e16 ("0.1", "100.0"), otherwise
// scientific ("1e-05", "1.5e+20"); "inf", "-inf", "nan"; bool as "True" / "False".

const SPECIAL: Readonly<Record<string, number>> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN };

/** The number a string element of a cast stands for; `what` names it in the error for other text. */
export function parseNumberText(s: string, what: string): number {
  const special = SPECIAL[s.trim().toLowerCase()];
  if (special !== undefined) return special;
  const t = s.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) throw new KilnError(`${what}: '${s}' is not a number (a cast from string reads plain or scientific notation, INF, -INF or NaN)`);
  return Number(t);
}

/** A cast's text of number `x` of dtype `from` (f16 as its value, not its bits). */
export function numberText(x: number, from: DType): string {
  if (from === 'bool') return x ? 'True' : 'False';
  if (from === 'i32' || from === 'u32') return String(x);
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const same = from === 'f16' ? (y: number) => f32ToF16Bits(y) === f32ToF16Bits(x) : (y: number) => Math.fround(y) === x;
  let p = 1;
  while (p < 17 && !same(Number(x.toPrecision(p)))) p++;
  // d.ddde±E: the shortest digits and the decimal exponent.
  const [mant, expText] = x.toExponential(p - 1).split('e') as [string, string];
  const exp = Number(expText);
  const sign = mant.startsWith('-') ? '-' : '';
  const digits = mant.replace(/^-/, '').replace('.', '');
  const ax = Math.abs(x);
  if (ax >= 1e-4 && ax < 1e16) {
    const point = exp + 1; // digits before the decimal point
    const padded = point <= 0 ? '0'.repeat(1 - point) + digits : digits.padEnd(point, '0');
    const at = Math.max(point, 1);
    const frac = padded.slice(at) || '0';
    return `${sign}${padded.slice(0, at)}.${frac}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}
