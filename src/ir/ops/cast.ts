import type { Attrs } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { DTYPES, isDType, isFloat, type DType } from '../types.js';
import {
  E8M0_ROUND_MODES, isNarrowFormat, NARROW_FORMATS, NARROW_WGSL_HELPERS, narrowHelperName, narrowStorage, narrowWgsl,
  roundToFormat, type E8M0RoundMode, type NarrowFormat, type NarrowOptions,
} from './narrow.js';
import { defineOp } from './registry.js';

/**
 * Integer ranges a float saturates to, as WGSL's i32(f32) / u32(f32) define them: the ends are
 * the extreme f32 values inside the integer range (2^31 - 128 and 2^32 - 256), so i32(3e9) is
 * 2147483520. f16 values (at most 65504) only ever meet the lower end of u32.
 */
const SATURATE: Record<'i32' | 'u32', readonly [number, number]> = {
  i32: [-(2 ** 31), 2 ** 31 - 128],
  u32: [0, 2 ** 32 - 256],
};

/**
 * Converts one value of dtype `from` to `to`, before the store that rounds it: float -> int
 * truncates toward zero and saturates (NaN gives 0 here; on the device NaN's result is undefined),
 * int -> int wraps (two's complement, as WGSL's u32(i32)), anything -> bool is x != 0 (NaN is
 * true), bool -> number is 0/1, and -> float rounds to nearest-even (f16 by the caller's store).
 */
export function castValue(x: number, from: DType, to: DType): number {
  if (to === 'bool') return x !== 0 ? 1 : 0;
  if ((to === 'i32' || to === 'u32') && isFloat(from)) {
    if (Number.isNaN(x)) return 0;
    const [lo, hi] = SATURATE[to];
    return Math.min(hi, Math.max(lo, Math.trunc(x)));
  }
  return x;
}

/** One element of cast(x) {to, format...} from dtype `from`: castValue, then the narrow format if any. */
export function castElement(x: number, from: DType, to: DType, attrs: Attrs): number {
  const v = castValue(x, from, to);
  return attrs.format === undefined ? v : roundToFormat(v, attrs.format as NarrowFormat, narrowOptions(attrs));
}

/** A cast's narrow-format options (saturate defaults to true, as in ONNX). */
function narrowOptions(a: Attrs): NarrowOptions {
  return { saturate: a.saturate !== false, roundMode: (a.round_mode as E8M0RoundMode | undefined) ?? 'up' };
}

/** cast's attributes. */
export const castAttrs = {
  to: { kind: 'string' },
  format: { kind: 'string', optional: true },
  saturate: { kind: 'bool', optional: true },
  round_mode: { kind: 'string', optional: true },
} as const;

/**
 * cast(x) {to = "f16"}: converts every element to the dtype named by `to`. With `format`, the
 * result is then rounded (floats) or wrapped (integers) into a narrower format that `to` stores
 * (narrow.ts): cast(x) {to = "f32", format = "bfloat16"}; `saturate` (float8 formats, default
 * true) and `round_mode` (float8e8m0: up, down or nearest; default up) say how.
 */
defineOp({
  name: 'cast', kind: 'elementwise', inputs: 1, strings: true,
  attrs: castAttrs,
  math: {
    cpu: ([x], to, a, inDTypes) => {
      if (!inDTypes) throw new Error('internal: cast math needs the operand dtype');
      return castElement(x!, inDTypes[0]!, to, a);
    },
    // WGSL's value conversions already truncate and saturate floats, wrap ints and read bool
    // (u32 0/1) as 0/1; the emitter wraps the expression in the result type. Only -> bool differs.
    wgsl: ([x], t, a, [inT]) => {
      if (a.format !== undefined) return narrowWgsl(x!, inT!, a.format as NarrowFormat, narrowOptions(a));
      return a.to === 'bool' ? `(${x} != ${inT}(0))` : x!;
    },
    helpers: (_t, _in, a) => {
      if (!a) return Object.keys(NARROW_WGSL_HELPERS);
      const f = a.format as NarrowFormat | undefined;
      return f !== undefined && narrowStorage(f) === 'f32' ? [narrowHelperName(f)] : [];
    },
  },
  infer: ([x], attrs) => {
    const to = attrs.to;
    if (!isDType(to)) throw new OpTypeError(`cannot cast to '${to}' (dtypes: ${DTYPES.join(', ')})`);
    const format = attrs.format;
    if (format !== undefined) {
      if (!isNarrowFormat(format)) throw new OpTypeError(`unknown format '${format}' (formats: ${Object.keys(NARROW_FORMATS).join(', ')})`);
      if (narrowStorage(format) !== to) throw new OpTypeError(`format ${format} is stored in ${narrowStorage(format)}, not ${to}`);
    }
    const mode = attrs.round_mode;
    if (mode !== undefined && !(E8M0_ROUND_MODES as readonly string[]).includes(mode)) {
      throw new OpTypeError(`round_mode must be one of ${E8M0_ROUND_MODES.join(', ')}, got '${mode}'`);
    }
    return [{ dtype: to, shape: x!.shape }];
  },
});

const BITCAST_DTYPES: readonly DType[] = ['f32', 'i32', 'u32'];
const bitcastView = new DataView(new ArrayBuffer(4));

/**
 * bitcast(x) {to = "i32"}: the same 32 bits read as another 32-bit dtype (f32, i32, u32),
 * as WGSL's bitcast<T> does. Computed in f32 whatever the precision policy (f16 has 16 bits).
 */
defineOp({
  name: 'bitcast', kind: 'elementwise', inputs: 1, precision: 'f32',
  attrs: { to: { kind: 'string' } },
  math: {
    cpu: ([x], to, _, inDTypes) => {
      const from = inDTypes?.[0];
      if (from === 'f32') bitcastView.setFloat32(0, x!);
      else bitcastView.setUint32(0, x! >>> 0);
      return to === 'f32' ? bitcastView.getFloat32(0) : to === 'i32' ? bitcastView.getInt32(0) : bitcastView.getUint32(0);
    },
    wgsl: ([x], t) => `bitcast<${t}>(${x})`,
  },
  infer: ([x], attrs) => {
    const to = attrs.to as DType;
    if (!BITCAST_DTYPES.includes(x!.dtype) || !BITCAST_DTYPES.includes(to)) {
      throw new OpTypeError(`bitcast reads 32-bit dtypes (${BITCAST_DTYPES.join(', ')}), not ${x!.dtype} as ${to}`);
    }
    return [{ dtype: to, shape: x!.shape }];
  },
});
