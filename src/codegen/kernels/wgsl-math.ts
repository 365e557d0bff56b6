// WGSL library functions that elementwise math calls by name (ElementwiseMath.helpers): what
// WGSL lacks (erf) or leaves undefined where models need it defined (pow of a negative base,
// max and min of NaN). Each is generated for a float type; codegen declares the ones a kernel
// uses, once.
import { horner, lit, LOG1P_ATANH_COEFFS, type HelperDef } from './wgsl-poly.js';
import { REMAINDER_HELPERS } from './wgsl-remainder.js';
import { TRIG_HELPERS } from './wgsl-trig.js';

/**
 * Whether f32 expression `x` is NaN, read from its bits. `x != x` would say the same, but WGSL
 * lets implementations assume that no NaN exists, and shader compilers do fold `x != x` to false
 * (Dawn on lavapipe does); they cannot fold a test of the bits.
 */
export function isNanF32(x: string): string {
  return `((bitcast<u32>(${x}) & 0x7fffffffu) > 0x7f800000u)`;
}

/**
 * max or min of f32 expressions `a` and `b` (short: each appears three times), NaN when either
 * is NaN, as IEEE 754 maximum/minimum, ONNX and PyTorch want. WGSL leaves max/min of NaN
 * undefined; backends return the other operand, which drops the NaN.
 */
export function nanPropagatingF32(fn: 'max' | 'min', a: string, b: string): string {
  return `select(select(${fn}(${a}, ${b}), ${a}, ${isNanF32(a)}), ${b}, ${isNanF32(b)})`;
}

/** kiln_isnan_t, kiln_max_t or kiln_min_t (see isNanF32 and nanPropagatingF32). */
function nanFn(name: 'isnan' | 'max' | 'min', t: 'f32' | 'f16'): string {
  if (name === 'isnan') {
    // Converting an f16 NaN to f32 keeps it NaN.
    return `fn kiln_isnan_${t}(x: ${t}) -> bool { return ${isNanF32(t === 'f32' ? 'x' : 'f32(x)')}; }`;
  }
  return `fn kiln_${name}_${t}(a: ${t}, b: ${t}) -> ${t} { return select(select(${name}(a, b), a, kiln_isnan_${t}(a)), b, kiln_isnan_${t}(b)); }`;
}

/**
 * erf on |x| < ERF_SMALL_LIMIT is x + x * R(x^2), R's coefficients lowest degree first (R(0) is
 * 2/sqrt(pi) - 1: adding x last keeps the leading term exact). Derived for kiln: a least-squares
 * fit of erf(x)/x - 1 as a degree-7 polynomial in u = x^2, weighted by 1/|erf(x)/x|, on 400
 * Chebyshev nodes of u in [0, 1], against mpmath's erf at 40 digits. Fit error 3e-11; evaluated
 * in f32 (coefficients rounded to f32, Horner) the error stays below 7e-8 absolute.
 */
export const ERF_SMALL_LIMIT = 1;
export const ERF_SMALL_COEFFS: readonly number[] = [
  0.1283791670570975, -0.37612638425956996, 0.11283781839097323, -0.026865392124637885,
  0.0052209232163005544, -0.0008482507742413876, 0.0001125464077408188, -9.63499125167315e-06,
];

/**
 * erf on ERF_SMALL_LIMIT <= |x| < ERF_ONE is 1 - exp(-x^2) * Q(1/x): erfc(x) * exp(x^2) behaves like
 * 1/(x sqrt(pi)), so it is smooth in 1/x. Derived the same way as the small range: degree-9 fit
 * in t = 1/x of erfc(x) exp(x^2), weighted relatively, on 400 Chebyshev nodes of x in [1, 4].
 * Fit error 3e-9 (of erf); in f32 below 6e-8 absolute, which is about one ulp of erf there.
 * (Abramowitz-Stegun 7.1.26, by contrast, is only good to 1.5e-7 before any f32 rounding.)
 */
export const ERF_LARGE_COEFFS: readonly number[] = [
  0.00011466929593773399, 0.5618857264519121, 0.019603914889885384, -0.3716936206449902,
  0.21876548165005813, 0.2593266143808576, -0.5615039058884544, 0.45621402075785533,
  -0.18719515358590555, 0.03206583622772238,
];

/** From here on erfc(x) < 2^-25 (erfc(3.92) = 3e-8), so erf(x) rounds to ±1 in f32. */
export const ERF_ONE = 4;

function erfF32(): string {
  return [
    '// erf(x), within about one f32 ulp (see ERF_* in wgsl-math.ts for the derivation).',
    'fn kiln_erf_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    `  if (a < ${lit(ERF_SMALL_LIMIT, 'f32')}) {`,
    '    let u = x * x;',
    `    return x + x * (${horner(ERF_SMALL_COEFFS, 'u', 'f32')});`,
    '  }',
    `  if (a >= ${lit(ERF_ONE, 'f32')}) { return select(-1.0, 1.0, x >= 0.0); }`,
    '  let t = 1.0 / a;',
    `  let r = 1.0 - exp(-a * a) * (${horner(ERF_LARGE_COEFFS, 't', 'f32')});`,
    '  return select(-r, r, x >= 0.0);',
    '}',
  ].join('\n');
}

/** f16 has too few bits to gain from its own fit: round the f32 result. */
function erfF16(): string {
  return 'fn kiln_erf_f16(x: f16) -> f16 { return f16(kiln_erf_f32(f32(x))); }';
}

/**
 * pow as C and NumPy define it. WGSL's pow is exp2(y * log2(x)), undefined for x < 0 (NaN on
 * several backends), yet models raise negative numbers to integer powers (x^2, x^3) all the time.
 */
function powFn(t: 'f32' | 'f16'): string {
  const z = `${t}(0)`;
  return [
    `fn kiln_pow_${t}(x: ${t}, y: ${t}) -> ${t} {`,
    `  if (y == ${z}) { return ${t}(1); }`,
    '  let a = abs(x);',
    // 0^y: WGSL leaves log2(0) undefined; C gives 0 for y > 0 and +inf for y < 0.
    `  let m = select(pow(a, y), select(${z}, ${t}(1) / a, y < ${z}), a == ${z});`,
    `  if (x >= ${z}) { return m; }`,
    '  if (y != trunc(y)) {',
    // NaN must be made at run time: a constant NaN is a shader-creation error in WGSL.
    '    var nan_bits = 0x7fc00000u;',
    `    return ${t}(bitcast<f32>(nan_bits));`,
    '  }',
    `  let half_y = y * ${t}(0.5);`,
    '  return select(m, -m, half_y != trunc(half_y));',
    '}',
  ].join('\n');
}

/**
 * softplus(x) = max(x, 0) + log1p(exp(-|x|)). log1p(e) for e in (0, 1] goes through atanh's
 * series (s <= 1/3, nine terms: 1e-10 relative) rather than log(1 + e), which rounds 1 + e and
 * loses e's relative precision (softplus(-13.5) was 4% off with the device's log).
 */
function softplusFn(t: 'f32' | 'f16'): string {
  if (t === 'f16') return 'fn kiln_softplus_f16(x: f16) -> f16 { return f16(kiln_softplus_f32(f32(x))); }';
  return [
    'fn kiln_softplus_f32(x: f32) -> f32 {',
    '  let e = exp(-abs(x));',
    '  let s = e / (2.0 + e);',
    '  let w = s * s;',
    `  return max(x, 0.0) + 2.0 * s * (${horner(LOG1P_ATANH_COEFFS, 'w', 'f32')});`,
    '}',
  ].join('\n');
}

/** tanh's odd Taylor series, x + x * u * P(u) with u = x^2, P's coefficients lowest degree first. */
export const TANH_SERIES_COEFFS: readonly number[] = [
  -1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925, 21844 / 6081075, -929569 / 638512875, 6404582 / 10854718875,
];
/** Below this |x| the series (to x^17) is within 7e-8 relative in f32; above, the exp form is within 2e-7. */
export const TANH_SERIES_LIMIT = 0.55;

/**
 * tanh within about one f32 ulp. Backends compute WGSL's tanh through exp, which loses all
 * relative precision for small |x| (tanh(4.5e-5) was 0.2% off on a software adapter), and
 * some overflow to NaN past |x| ~ 89; tanh(±10) is ±1 in f32 already.
 */
function tanhF32(): string {
  return [
    'fn kiln_tanh_f32(x: f32) -> f32 {',
    // NaN would fall through to min(a, 10.0), which backends make 10: tanh(NaN) would be -1.
    `  if (${isNanF32('x')}) { return x; }`,
    '  let a = abs(x);',
    `  if (a < ${lit(TANH_SERIES_LIMIT, 'f32')}) {`,
    '    let u = x * x;',
    `    return x + x * u * (${horner(TANH_SERIES_COEFFS, 'u', 'f32')});`,
    '  }',
    '  let r = 1.0 - 2.0 / (exp(2.0 * min(a, 10.0)) + 1.0);',
    '  return select(-r, r, x >= 0.0);',
    '}',
  ].join('\n');
}

const HELPERS: Readonly<Record<string, HelperDef>> = {
  ...TRIG_HELPERS,
  ...REMAINDER_HELPERS,
  kiln_erf_f32: { deps: [], decl: erfF32 },
  kiln_erf_f16: { deps: ['kiln_erf_f32'], decl: erfF16 },
  kiln_pow_f32: { deps: [], decl: () => powFn('f32') },
  kiln_pow_f16: { deps: [], decl: () => powFn('f16') },
  kiln_tanh_f32: { deps: [], decl: tanhF32 },
  kiln_tanh_f16: { deps: ['kiln_tanh_f32'], decl: () => 'fn kiln_tanh_f16(x: f16) -> f16 { return f16(kiln_tanh_f32(f32(x))); }' },
  kiln_softplus_f32: { deps: [], decl: () => softplusFn('f32') },
  kiln_softplus_f16: { deps: ['kiln_softplus_f32'], decl: () => softplusFn('f16') },
  ...Object.fromEntries((['f32', 'f16'] as const).flatMap((t) => [
    [`kiln_isnan_${t}`, { deps: [], decl: () => nanFn('isnan', t) }],
    [`kiln_max_${t}`, { deps: [`kiln_isnan_${t}`], decl: () => nanFn('max', t) }],
    [`kiln_min_${t}`, { deps: [`kiln_isnan_${t}`], decl: () => nanFn('min', t) }],
  ])),
};

/** WGSL declarations of the named helpers and of those they call, dependencies first, each once. */
export function wgslHelperDecls(names: readonly string[]): string[] {
  const out: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name)) return;
    const def = HELPERS[name];
    if (!def) throw new Error(`internal: no WGSL helper '${name}' (known: ${Object.keys(HELPERS).join(', ')})`);
    done.add(name);
    def.deps.forEach(visit);
    out.push(def.decl());
  };
  names.forEach(visit);
  return out;
}
