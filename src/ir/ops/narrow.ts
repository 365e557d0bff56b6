// Number formats narrower than kiln's storage dtypes (ONNX's bfloat16, float8, float4, int4,
// int2, 8- and 16-bit integers), emulated in storage: a value of such a format is kept in f32
// (floats) or i32 (integers), always one the format can represent. A cast to the format rounds
// (or wraps) through it, the same on the CPU (here) and on the GPU (WGSL helpers made here).

import { wgslFloat } from '../wgsl-literal.js';

/** Two's-complement integers of `bits` bits, wrapping as C and NumPy do on narrowing. */
interface IntFormat { readonly kind: 'int'; readonly bits: number; readonly signed: boolean }

/**
 * Which special values a small float has, and so where values out of its range go (unless
 * saturated to ±max):
 * - 'ieee' (e5m2): the top exponent holds ±inf and NaN; overflow is ±inf;
 * - 'fn' (e4m3fn, "finite"): no inf; the all-ones codes are NaN, as is overflow;
 * - 'fnuz' ("finite, unsigned zero"): no inf and no -0; -0's code is NaN, as is overflow;
 * - 'none' (float4e2m1): every code a number; ONNX's reference saturates it whatever `saturate`
 *   says, and turns NaN into -0.
 */
type Specials = 'ieee' | 'fn' | 'fnuz' | 'none';

/**
 * A binary float of `exponent` and `mantissa` bits (and a sign), normal exponents from `minExp`
 * (1 - bias) down to which subnormals continue, `max` its largest finite value.
 */
interface MiniFloat {
  readonly kind: 'minifloat';
  readonly exponent: number;
  readonly mantissa: number;
  readonly minExp: number;
  readonly max: number;
  readonly specials: Specials;
}

/** bfloat16: f32's top half, rounded to nearest even; NaN stays NaN. float8e8m0: powers of two. */
type Format = IntFormat | MiniFloat | { readonly kind: 'bfloat16' } | { readonly kind: 'e8m0' };

const minifloat = (exponent: number, mantissa: number, minExp: number, max: number, specials: Specials): MiniFloat =>
  ({ kind: 'minifloat', exponent, mantissa, minExp, max, specials });

/** The formats, by ONNX's names for them (`cast {format = "float8e4m3fn"}`). */
export const NARROW_FORMATS = {
  int8: { kind: 'int', bits: 8, signed: true },
  uint8: { kind: 'int', bits: 8, signed: false },
  int16: { kind: 'int', bits: 16, signed: true },
  uint16: { kind: 'int', bits: 16, signed: false },
  int4: { kind: 'int', bits: 4, signed: true },
  uint4: { kind: 'int', bits: 4, signed: false },
  int2: { kind: 'int', bits: 2, signed: true },
  uint2: { kind: 'int', bits: 2, signed: false },
  bfloat16: { kind: 'bfloat16' },
  float8e4m3fn: minifloat(4, 3, -6, 448, 'fn'),
  float8e4m3fnuz: minifloat(4, 3, -7, 240, 'fnuz'),
  float8e5m2: minifloat(5, 2, -14, 57344, 'ieee'),
  float8e5m2fnuz: minifloat(5, 2, -15, 57344, 'fnuz'),
  float4e2m1: minifloat(2, 1, 0, 6, 'none'),
  float8e8m0: { kind: 'e8m0' },
} as const satisfies Record<string, Format>;

export type NarrowFormat = keyof typeof NARROW_FORMATS;

export function isNarrowFormat(s: string): s is NarrowFormat {
  return Object.hasOwn(NARROW_FORMATS, s);
}

/** The kiln dtype a format is stored in. */
export function narrowStorage(f: NarrowFormat): 'f32' | 'i32' {
  return NARROW_FORMATS[f].kind === 'int' ? 'i32' : 'f32';
}

/** float8e8m0's rounding of values between two powers of two (ONNX Cast's `round_mode`). */
export const E8M0_ROUND_MODES = ['up', 'down', 'nearest'] as const;
export type E8M0RoundMode = (typeof E8M0_ROUND_MODES)[number];

/** How a cast rounds into a format: `saturate` (float8: out of range to ±max), `roundMode` (float8e8m0). */
export interface NarrowOptions { readonly saturate: boolean; readonly roundMode: E8M0RoundMode }

const scratch = new DataView(new ArrayBuffer(4));
const f32Bits = (x: number): number => { scratch.setFloat32(0, x); return scratch.getUint32(0); };
const bitsF32 = (b: number): number => { scratch.setUint32(0, b >>> 0); return scratch.getFloat32(0); };

/** Round half to even of v >= 0 (WGSL's round). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/**
 * The value of the format nearest to `x` (already in its storage dtype: an i32 for integer
 * formats, any number for float ones, which first rounds to f32 as the device does).
 */
export function roundToFormat(x: number, format: NarrowFormat, opts: NarrowOptions): number {
  const f: Format = NARROW_FORMATS[format];
  if (f.kind === 'int') {
    const shift = 32 - f.bits;
    return f.signed ? (x << shift) >> shift : x & ((1 << f.bits) - 1);
  }
  const b = f32Bits(x);
  const m = b & 0x7fffffff;
  if (m > 0x7f800000) return f.kind === 'minifloat' && f.specials === 'none' ? -0 : NaN;
  if (f.kind === 'bfloat16') return bitsF32(((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0);
  if (f.kind === 'e8m0') return e8m0Value(e8m0Code(m, opts));
  const e = Math.max((m >>> 23) - 127, f.minExp);
  let r = roundHalfEven(bitsF32(m) * 2 ** (f.mantissa - e)) * 2 ** (e - f.mantissa);
  if (m === 0x7f800000 || r > f.max) r = opts.saturate || f.specials === 'none' ? f.max : f.specials === 'ieee' ? Infinity : NaN;
  const negative = b >= 0x80000000;
  return negative && (f.specials !== 'fnuz' || r !== 0) ? -r : r;
}

/** The float8e8m0 code (biased exponent, 255 for NaN) of |x|, from its f32 bits without the sign. */
function e8m0Code(m: number, { saturate, roundMode }: NarrowOptions): number {
  const e = m >>> 23;
  const frac = m & 0x7fffff;
  let code: number;
  if (e === 255) code = 255;
  // Below 2^-126 the neighbours are 2^-127 (code 0; frac 0x400000) and 2^-126 (code 1).
  else if (e === 0) code = (roundMode === 'up' && frac > 0x400000) || (roundMode === 'nearest' && frac >= 0x600000) ? 1 : 0;
  else code = e + ((roundMode === 'up' && frac !== 0) || (roundMode === 'nearest' && frac >= 0x400000) ? 1 : 0);
  return code === 255 && saturate ? 254 : code;
}

/** The value of a float8e8m0 code: 2^(code - 127), NaN for 255. */
function e8m0Value(code: number): number {
  return code === 255 ? NaN : 2 ** (code - 127);
}

/**
 * The value of one element of a format as ONNX stores it (`bits`: its byte, or its nibble or
 * crumb for 4- and 2-bit formats), for reading tensors of these types.
 */
export function decodeNarrow(format: NarrowFormat, bits: number): number {
  const f: Format = NARROW_FORMATS[format];
  switch (f.kind) {
    case 'int': {
      const shift = 32 - f.bits;
      return f.signed ? (bits << shift) >> shift : bits & ((1 << f.bits) - 1);
    }
    case 'bfloat16': return bitsF32(bits << 16);
    case 'e8m0': return e8m0Value(bits & 0xff);
    case 'minifloat': {
      const expBits = f.exponent;
      const sign = (bits >> (expBits + f.mantissa)) & 1;
      const exp = (bits >> f.mantissa) & ((1 << expBits) - 1);
      const frac = bits & ((1 << f.mantissa) - 1);
      const top = exp === (1 << expBits) - 1;
      if (f.specials === 'fnuz' && sign === 1 && exp === 0 && frac === 0) return NaN;
      if (f.specials === 'ieee' && top) return frac === 0 ? (sign ? -Infinity : Infinity) : NaN;
      if (f.specials === 'fn' && top && frac === (1 << f.mantissa) - 1) return NaN;
      const v = exp === 0 ? frac * 2 ** (f.minExp - f.mantissa) : (1 + frac / (1 << f.mantissa)) * 2 ** (exp - 1 + f.minExp);
      return sign ? -v : v;
    }
  }
}

/** Bits per element of a format as ONNX packs it in raw data (4- and 2-bit values share bytes). */
export function narrowBits(format: NarrowFormat): number {
  const f: Format = NARROW_FORMATS[format];
  return f.kind === 'int' ? f.bits : f.kind === 'bfloat16' ? 16 : f.kind === 'e8m0' ? 8 : 1 + f.exponent + f.mantissa;
}

// ---------------------------------------------------------------------------------------------
// WGSL: one helper per float format, `kiln_round_<format>(x: f32, saturate: bool, mode: u32) -> f32`
// (mode: float8e8m0's round_mode as its index in E8M0_ROUND_MODES). Integer formats are inline.

/** WGSL's name of the helper rounding to a float format. */
export function narrowHelperName(format: NarrowFormat): string {
  return `kiln_round_${format}`;
}


function minifloatWgsl(name: string, f: MiniFloat): string {
  // NaN and inf must be made at run time (a constant NaN is a shader-creation error in WGSL).
  const overflow = f.specials === 'none' ? wgslFloat(f.max) : `select(bitcast<f32>(special), ${wgslFloat(f.max)}, saturate)`;
  return [
    `fn ${name}(x: f32, saturate: bool, mode: u32) -> f32 {`,
    '  let b = bitcast<u32>(x);',
    '  let m = b & 0x7fffffffu;',
    `  if (m > 0x7f800000u) { return ${f.specials === 'none' ? '-0.0' : 'x'}; }`,
    `  var special = ${f.specials === 'ieee' ? '0x7f800000u' : '0x7fc00000u'};`,
    `  let e = max(i32(m >> 23u) - 127, ${f.minExp});`,
    // Scaling by powers of two made from their bits is exact, unlike exp2 or a division.
    `  let up = bitcast<f32>(u32(${f.mantissa + 127} - e) << 23u);`,
    `  let down = bitcast<f32>(u32(e + ${127 - f.mantissa}) << 23u);`,
    '  var r = round(bitcast<f32>(m) * up) * down;',
    `  if (m == 0x7f800000u || r > ${wgslFloat(f.max)}) { r = ${overflow}; }`,
    `  return select(r, -r, b >= 0x80000000u${f.specials === 'fnuz' ? ' && r != 0.0' : ''});`,
    '}',
  ].join('\n');
}

function bfloat16Wgsl(name: string): string {
  return [
    `fn ${name}(x: f32, saturate: bool, mode: u32) -> f32 {`,
    '  let b = bitcast<u32>(x);',
    '  if ((b & 0x7fffffffu) > 0x7f800000u) { return x; }',
    '  return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u);',
    '}',
  ].join('\n');
}

function e8m0Wgsl(name: string): string {
  return [
    `fn ${name}(x: f32, saturate: bool, mode: u32) -> f32 {`,
    '  let m = bitcast<u32>(x) & 0x7fffffffu;',
    '  if (m > 0x7f800000u) { return x; }',
    '  let e = m >> 23u;',
    '  let frac = m & 0x7fffffu;',
    '  var code = e;',
    '  if (e == 0u) { code = select(0u, 1u, (mode == 0u && frac > 0x400000u) || (mode == 2u && frac >= 0x600000u)); }',
    '  else if (e < 255u) { code = e + select(0u, 1u, (mode == 0u && frac != 0u) || (mode == 2u && frac >= 0x400000u)); }',
    '  if (code == 255u && saturate) { code = 254u; }',
    '  var bits = select(code << 23u, 0x7fc00000u, code == 255u);',
    '  if (code == 0u) { bits = 0x00400000u; }',
    '  return bitcast<f32>(bits);',
    '}',
  ].join('\n');
}

/** WGSL declarations of the float formats' rounding helpers, by helper name. */
export const NARROW_WGSL_HELPERS: Readonly<Record<string, () => string>> = Object.fromEntries(
  (Object.keys(NARROW_FORMATS) as NarrowFormat[]).flatMap((format) => {
    const f: Format = NARROW_FORMATS[format];
    const name = narrowHelperName(format);
    if (f.kind === 'int') return [];
    const decl = f.kind === 'bfloat16' ? () => bfloat16Wgsl(name) : f.kind === 'e8m0' ? () => e8m0Wgsl(name) : () => minifloatWgsl(name, f);
    return [[name, decl]];
  }),
);

/**
 * WGSL rounding `x` (an expression of storage type `inType`) into `format`; the caller converts
 * the result to the cast's result type.
 */
export function narrowWgsl(x: string, inType: string, format: NarrowFormat, opts: NarrowOptions): string {
  const f: Format = NARROW_FORMATS[format];
  if (f.kind !== 'int') return `${narrowHelperName(format)}(f32(${x}), ${opts.saturate}, ${E8M0_ROUND_MODES.indexOf(opts.roundMode)}u)`;
  const v = inType === 'i32' ? x : `i32(${x})`;
  return f.signed ? `((${v} << ${32 - f.bits}u) >> ${32 - f.bits}u)` : `(${v} & ${(1 << f.bits) - 1})`;
}
