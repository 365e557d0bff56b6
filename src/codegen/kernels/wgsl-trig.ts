// WGSL trigonometric and hyperbolic functions in f32 (f16 computes through f32). WGSL's builtins
// may be loose (Vulkan allows sin an absolute error of 2^-11), lose relative precision near 0
// (asin, sinh, asinh, atanh through log(1 + ...)), or overflow in their intermediate steps
// (cosh(89) through exp, asinh of 1e20 through x^2). Each function here is an argument reduction
// and a truncated Taylor series whose truncation error is below 1e-9 relative on its interval,
// so what remains is f32 rounding: a few ulp (measured in test/codegen/math-ops.test.ts).
import { horner, LOG1P_ATANH_COEFFS, type HelperDef } from './wgsl-poly.js';
import { wgslFloat } from '../../ir/wgsl-literal.js';

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
const binomial = (n: number, k: number): number => factorial(n) / (factorial(k) * factorial(n - k));

/** sin(r) = r + r u S(u), u = r^2, for |r| <= pi/4: S_k = (-1)^(k+1) / (2k+1)!, to r^15. */
export const SIN_COEFFS: readonly number[] = Array.from({ length: 7 }, (_, k) => (k % 2 ? 1 : -1) / factorial(2 * k + 3));
/** cos(r) = 1 - u/2 + u^2 C(u) for |r| <= pi/4: C_k = (-1)^k / (2k+4)!, to r^16. */
export const COS_COEFFS: readonly number[] = Array.from({ length: 7 }, (_, k) => (k % 2 ? -1 : 1) / factorial(2 * k + 4));
/** atan(t) = t + t w A(w), w = t^2, for |t| <= tan(pi/8): A_k = (-1)^(k+1) / (2k+3), to t^25. */
export const ATAN_COEFFS: readonly number[] = Array.from({ length: 12 }, (_, k) => (k % 2 ? 1 : -1) / (2 * k + 3));
/** asin(x) = x + x u P(u) for |x| <= 1/2: P_k = C(2k+2, k+1) / (4^(k+1) (2k+3)), to x^27. */
export const ASIN_COEFFS: readonly number[] = Array.from({ length: 13 }, (_, k) => binomial(2 * k + 2, k + 1) / (4 ** (k + 1) * (2 * k + 3)));
/** sinh(x) = x + x u H(u) for |x| < 1: H_k = 1 / (2k+3)!, to x^17. */
export const SINH_COEFFS: readonly number[] = Array.from({ length: 8 }, (_, k) => 1 / factorial(2 * k + 3));

/**
 * pi/2 in four parts for Cody-Waite reduction: the first three have at most 8 significant bits,
 * so j * P is exact for |j| < 2^16, i.e. |x| < 102943; the fourth is the rest rounded to f32.
 * Past that range the reduced argument loses bits (the result stays in [-1, 1] but drifts).
 */
export const PIO2_PARTS: readonly number[] = [1.5703125, 0.0004825592041015625, 1.2665987014770508e-6, 9.92093629470503e-10];
/** |x| below which sin, cos and tan reduce their argument exactly enough to keep full accuracy. */
export const TRIG_EXACT_RANGE = 2 ** 16 * (Math.PI / 2);
const TWO_OVER_PI = 0.6366197723675814;
const PI_OVER_2 = Math.PI / 2;
const PI_OVER_4 = Math.PI / 4;
const TAN_PI_OVER_8 = Math.SQRT2 - 1;
const LN2 = Math.LN2;
/** Above this, asinh(x) = log(2x) and acosh(x) = log(2x) to within 1/(4x^2) < 2e-8 relative. */
export const ASINH_LARGE = 4096;
/** Above this, sinh and cosh are exp(x)/2 to 1e-8 relative (e^-2x < 1.6e-8), computed without overflow. */
export const SINH_LARGE = 9;


/** NaN and +inf (WGSL constant expressions may be neither, so they are made at run time), and a finiteness test. */
function specialsDecl(): string {
  return [
    'fn kiln_nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }',
    'fn kiln_inf_f32() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }',
    // On the bits: WGSL lets compilers assume finite values, so comparisons with inf may fold.
    'fn kiln_is_finite_f32(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) < 0x7f800000u; }',
  ].join('\n');
}

/** x reduced by pi/2: r in [-pi/4, pi/4] and the quadrant j mod 4. */
function reduceDecl(): string {
  const [p1, p2, p3, p4] = PIO2_PARTS.map((p) => wgslFloat(p, 'f32'));
  return [
    'struct KilnQuadrant { r: f32, q: u32 }',
    'fn kiln_reduce_pio2(x: f32) -> KilnQuadrant {',
    `  let j = round(x * ${wgslFloat(TWO_OVER_PI, 'f32')});`,
    `  let r = (((x - j * ${p1}) - j * ${p2}) - j * ${p3}) - j * ${p4};`,
    '  return KilnQuadrant(r, u32(i32(j) & 3));',
    '}',
    'fn kiln_sin_poly(r: f32) -> f32 {',
    '  let u = r * r;',
    `  return r + r * u * (${horner(SIN_COEFFS, 'u', 'f32')});`,
    '}',
    'fn kiln_cos_poly(r: f32) -> f32 {',
    '  let u = r * r;',
    `  return 1.0 - 0.5 * u + u * u * (${horner(COS_COEFFS, 'u', 'f32')});`,
    '}',
  ].join('\n');
}

function sinDecl(): string {
  return [
    'fn kiln_sin_f32(x: f32) -> f32 {',
    '  if (!kiln_is_finite_f32(x)) { return kiln_nan_f32(); }',
    '  let k = kiln_reduce_pio2(x);',
    '  let v = select(kiln_sin_poly(k.r), kiln_cos_poly(k.r), (k.q & 1u) == 1u);',
    '  return select(v, -v, k.q >= 2u);',
    '}',
  ].join('\n');
}

function cosDecl(): string {
  return [
    'fn kiln_cos_f32(x: f32) -> f32 {',
    '  if (!kiln_is_finite_f32(x)) { return kiln_nan_f32(); }',
    '  let k = kiln_reduce_pio2(x);',
    '  let v = select(kiln_cos_poly(k.r), kiln_sin_poly(k.r), (k.q & 1u) == 1u);',
    '  return select(v, -v, k.q == 1u || k.q == 2u);',
    '}',
  ].join('\n');
}

/** tan = sin/cos of the reduced argument; in odd quadrants -cos/sin. */
function tanDecl(): string {
  return [
    'fn kiln_tan_f32(x: f32) -> f32 {',
    '  if (!kiln_is_finite_f32(x)) { return kiln_nan_f32(); }',
    '  let k = kiln_reduce_pio2(x);',
    '  let s = kiln_sin_poly(k.r);',
    '  let c = kiln_cos_poly(k.r);',
    '  return select(s / c, -c / s, (k.q & 1u) == 1u);',
    '}',
  ].join('\n');
}

/** atan: 1/x past 1, then (t - 1)/(t + 1) past tan(pi/8), then the series. */
function atanDecl(): string {
  return [
    'fn kiln_atan_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    '  let big = a > 1.0;',
    '  var t = select(a, 1.0 / a, big);',
    '  var base = 0.0;',
    `  if (t > ${wgslFloat(TAN_PI_OVER_8, 'f32')}) { t = (t - 1.0) / (t + 1.0); base = ${wgslFloat(PI_OVER_4, 'f32')}; }`,
    '  let w = t * t;',
    `  var r = base + (t + t * w * (${horner(ATAN_COEFFS, 'w', 'f32')}));`,
    `  if (big) { r = ${wgslFloat(PI_OVER_2, 'f32')} - r; }`,
    '  return select(r, -r, x < 0.0);',
    '}',
  ].join('\n');
}

/** asin's series on [0, 1/2]; past 1/2, asin(a) = pi/2 - 2 asin(sqrt((1 - a)/2)), 1 - a exact. */
function asinDecl(): string {
  return [
    'fn kiln_asin_poly(x: f32) -> f32 {',
    '  let u = x * x;',
    `  return x + x * u * (${horner(ASIN_COEFFS, 'u', 'f32')});`,
    '}',
    'fn kiln_asin_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    '  if (a > 1.0) { return kiln_nan_f32(); }',
    '  if (a <= 0.5) { return kiln_asin_poly(x); }',
    `  let r = ${wgslFloat(PI_OVER_2, 'f32')} - 2.0 * kiln_asin_poly(sqrt((1.0 - a) * 0.5));`,
    '  return select(r, -r, x < 0.0);',
    '}',
  ].join('\n');
}

/** acos(x) = pi/2 - asin(x) near 0; 2 asin(sqrt((1 - x)/2)) near 1; pi - that near -1. */
function acosDecl(): string {
  return [
    'fn kiln_acos_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    '  if (a > 1.0) { return kiln_nan_f32(); }',
    `  if (a <= 0.5) { return ${wgslFloat(PI_OVER_2, 'f32')} - kiln_asin_poly(x); }`,
    '  let h = 2.0 * kiln_asin_poly(sqrt((1.0 - a) * 0.5));',
    `  return select(h, ${wgslFloat(Math.PI, 'f32')} - h, x < 0.0);`,
    '}',
  ].join('\n');
}

/**
 * log1p(u): through 2 atanh(u / (2 + u)) on [-1/2, 1], where log(1 + u) would round 1 + u and
 * lose u's relative precision; outside it log(1 + u) is exact enough (|result| > 0.4). NaN
 * below -1 (WGSL leaves the log of a negative undefined).
 */
function log1pDecl(): string {
  return [
    'fn kiln_log1p_f32(u: f32) -> f32 {',
    '  if (u >= -0.5 && u <= 1.0) {',
    '    let s = u / (2.0 + u);',
    '    let w = s * s;',
    `    return 2.0 * s * (${horner(LOG1P_ATANH_COEFFS, 'w', 'f32')});`,
    '  }',
    '  if (u < -1.0) { return kiln_nan_f32(); }',
    '  return log(1.0 + u);',
    '}',
  ].join('\n');
}

/** exp(x) - 1's Taylor series past x, x^2 (1/2! + x/3! + ... + x^8/10!): within 1e-9 relative for |x| < 1/2. */
const EXPM1_COEFFS: readonly number[] = Array.from({ length: 9 }, (_, k) => 1 / factorial(k + 2));

/** expm1: the series below 1/2, where exp(x) - 1 would cancel x's digits away; exp(x) - 1 above. */
function expm1Decl(): string {
  return [
    'fn kiln_expm1_f32(x: f32) -> f32 {',
    '  if (abs(x) < 0.5) {',
    `    return x + x * x * (${horner(EXPM1_COEFFS, 'x', 'f32')});`,
    '  }',
    '  return exp(x) - 1.0;',
    '}',
  ].join('\n');
}

/** sinh: the series below 1, (e - 1/e)/2 up to SINH_LARGE, then (h/2) h with h = exp(a/2). */
function sinhDecl(): string {
  return [
    'fn kiln_sinh_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    '  if (a < 1.0) {',
    '    let u = x * x;',
    `    return x + x * u * (${horner(SINH_COEFFS, 'u', 'f32')});`,
    '  }',
    '  var r: f32;',
    `  if (a < ${wgslFloat(SINH_LARGE, 'f32')}) { let e = exp(a); r = 0.5 * (e - 1.0 / e); }`,
    '  else { let h = exp(0.5 * a); r = (0.5 * h) * h; }',
    '  return select(r, -r, x < 0.0);',
    '}',
  ].join('\n');
}

function coshDecl(): string {
  return [
    'fn kiln_cosh_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    `  if (a < ${wgslFloat(SINH_LARGE, 'f32')}) { let e = exp(a); return 0.5 * (e + 1.0 / e); }`,
    '  let h = exp(0.5 * a);',
    '  return (0.5 * h) * h;',
    '}',
  ].join('\n');
}

/** asinh(a) = log1p(a + a^2 / (1 + sqrt(1 + a^2))); log(a) + ln 2 past ASINH_LARGE (a^2 may overflow). */
function asinhDecl(): string {
  return [
    'fn kiln_asinh_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    '  var r: f32;',
    `  if (a > ${wgslFloat(ASINH_LARGE, 'f32')}) { r = log(a) + ${wgslFloat(LN2, 'f32')}; }`,
    '  else { let u = a * a; r = kiln_log1p_f32(a + u / (1.0 + sqrt(1.0 + u))); }',
    '  return select(r, -r, x < 0.0);',
    '}',
  ].join('\n');
}

/** acosh(x) = log1p(z + sqrt(z (x + 1))) with z = x - 1 (exact near 1); log(x) + ln 2 far out. */
function acoshDecl(): string {
  return [
    'fn kiln_acosh_f32(x: f32) -> f32 {',
    '  if (x < 1.0) { return kiln_nan_f32(); }',
    `  if (x > ${wgslFloat(ASINH_LARGE, 'f32')}) { return log(x) + ${wgslFloat(LN2, 'f32')}; }`,
    '  let z = x - 1.0;',
    '  return kiln_log1p_f32(z + sqrt(z * (x + 1.0)));',
    '}',
  ].join('\n');
}

/** atanh(a) = log1p(2a / (1 - a)) / 2; ±inf at ±1, NaN beyond. */
function atanhDecl(): string {
  return [
    'fn kiln_atanh_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    '  if (a > 1.0) { return kiln_nan_f32(); }',
    '  var r: f32;',
    '  if (a == 1.0) { r = kiln_inf_f32(); }',
    '  else { r = 0.5 * kiln_log1p_f32(2.0 * a / (1.0 - a)); }',
    '  return select(r, -r, x < 0.0);',
    '}',
  ].join('\n');
}

/** Each function's f32 declaration and the helpers it calls. */
const F32: Readonly<Record<string, [() => string, readonly string[]]>> = {
  sin: [sinDecl, ['kiln_specials', 'kiln_reduce_pio2']],
  cos: [cosDecl, ['kiln_specials', 'kiln_reduce_pio2']],
  tan: [tanDecl, ['kiln_specials', 'kiln_reduce_pio2']],
  asin: [asinDecl, ['kiln_specials']],
  acos: [acosDecl, ['kiln_specials', 'kiln_asin_f32']],
  atan: [atanDecl, []],
  sinh: [sinhDecl, []],
  cosh: [coshDecl, []],
  asinh: [asinhDecl, ['kiln_log1p_f32']],
  acosh: [acoshDecl, ['kiln_specials', 'kiln_log1p_f32']],
  atanh: [atanhDecl, ['kiln_specials', 'kiln_log1p_f32']],
  log1p: [log1pDecl, ['kiln_specials']],
  expm1: [expm1Decl, []],
};

/** The trigonometric helpers by name (`kiln_sin_f32`, `kiln_sin_f16`, ...) and what they share. */
export const TRIG_HELPERS: Readonly<Record<string, HelperDef>> = {
  kiln_specials: { deps: [], decl: specialsDecl },
  kiln_reduce_pio2: { deps: [], decl: reduceDecl },
  ...Object.fromEntries(Object.entries(F32).flatMap(([name, [decl, deps]]) => [
    [`kiln_${name}_f32`, { deps, decl }],
    [`kiln_${name}_f16`, { deps: [`kiln_${name}_f32`], decl: () => `fn kiln_${name}_f16(x: f16) -> f16 { return f16(kiln_${name}_f32(f32(x))); }` }],
  ])),
};
