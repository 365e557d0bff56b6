// The error function in double precision, for the CPU reference (JavaScript has no Math.erf).
// The GPU's f32 approximation is tested against this, so it must be far more accurate.

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const SQRT_PI = 1.7724538509055159;

/**
 * erf(x) to within 1e-15 absolute and relative (7e-16 measured against mpmath on a grid over
 * [-6.5, 6.5]). Two classical expansions, each where it converges fast and nothing cancels:
 * - |x| < 1.5: the series (Abramowitz-Stegun 7.1.6)
 *     erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_{n>=0} x (2x^2)^n / (1*3*...*(2n+1)),
 *   all of whose terms are positive;
 * - |x| >= 1.5: 1 - erfc(x), erfc from its continued fraction (A&S 7.1.14)
 *     erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
 *   evaluated from the tail with a fixed depth; the subtraction costs at most half an ulp of 1.
 * Past |x| = 6, erfc(x) < 2e-17 is below half an ulp of 1, so erf(x) is ±1 in double.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let r: number;
  if (a >= 6) r = 1;
  else if (a >= 1.5) r = 1 - erfcContinuedFraction(a);
  else {
    const twoA2 = 2 * a * a;
    let term = a;
    let sum = a;
    for (let n = 1; term > sum * 1e-17; n++) {
      term *= twoA2 / (2 * n + 1);
      sum += term;
    }
    r = TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
  }
  return x < 0 ? -r : r;
}

/** erfc(a) for a >= 1.5; 80 levels make the truncation error negligible there. */
function erfcContinuedFraction(a: number): number {
  let f = a;
  for (let k = 80; k >= 1; k--) f = a + k / 2 / f;
  return Math.exp(-a * a) / (SQRT_PI * f);
}
