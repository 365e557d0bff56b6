// Small builders of WGSL text shared by the math helper libraries.
import { wgslFloat } from '../../ir/wgsl-literal.js';


/** `c0 + v * (c1 + v * (...))` in WGSL. */
export function horner(coeffs: readonly number[], v: string, t: string): string {
  let acc = wgslFloat(coeffs[coeffs.length - 1]!, t);
  for (let i = coeffs.length - 2; i >= 0; i--) acc = `${wgslFloat(coeffs[i]!, t)} + ${v} * (${acc})`;
  return acc;
}

/** A WGSL library function: its declaration and the helpers it calls. */
export interface HelperDef {
  readonly deps: readonly string[];
  readonly decl: () => string;
}

/** log1p(e) = 2 atanh(s), s = e / (2 + e): 2s (1 + w/3 + w^2/5 + ...) with w = s^2, these the coefficients. */
export const LOG1P_ATANH_COEFFS: readonly number[] = Array.from({ length: 9 }, (_, k) => 1 / (2 * k + 1));
