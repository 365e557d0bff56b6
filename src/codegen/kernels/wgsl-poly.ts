// Small builders of WGSL text shared by the math helper libraries.

/** A WGSL literal of a finite number rounded to f32, as an abstract float in `t(...)`. */
export function lit(x: number, t: string): string {
  const s = String(Math.fround(x));
  return `${t}(${/[.e]/.test(s) ? s : `${s}.0`})`;
}

/** `c0 + v * (c1 + v * (...))` in WGSL. */
export function horner(coeffs: readonly number[], v: string, t: string): string {
  let acc = lit(coeffs[coeffs.length - 1]!, t);
  for (let i = coeffs.length - 2; i >= 0; i--) acc = `${lit(coeffs[i]!, t)} + ${v} * (${acc})`;
  return acc;
}

/** A WGSL library function: its declaration and the helpers it calls. */
export interface HelperDef {
  readonly deps: readonly string[];
  readonly decl: () => string;
}

/** log1p(e) = 2 atanh(s), s = e / (2 + e): 2s (1 + w/3 + w^2/5 + ...) with w = s^2, these the coefficients. */
export const LOG1P_ATANH_COEFFS: readonly number[] = Array.from({ length: 9 }, (_, k) => 1 / (2 * k + 1));
