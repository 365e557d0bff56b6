import { OpTypeError } from '../errors.js';
import { DTYPES, isDType, isFloat, type DType } from '../types.js';
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

/** cast(x) {to = "f16"}: converts every element to the dtype named by `to`. */
defineOp({
  name: 'cast', kind: 'elementwise', inputs: 1,
  attrs: { to: { kind: 'string' } },
  math: {
    cpu: ([x], to, _, inDTypes) => {
      if (!inDTypes) throw new Error('internal: cast math needs the operand dtype');
      return castValue(x!, inDTypes[0]!, to);
    },
    // WGSL's value conversions already truncate and saturate floats, wrap ints and read bool
    // (u32 0/1) as 0/1; the emitter wraps the expression in the result type. Only -> bool differs.
    wgsl: ([x], t, a, [inT]) => (a.to === 'bool' ? `(${x} != ${inT}(0))` : x!),
  },
  infer: ([x], attrs) => {
    const to = attrs.to as string;
    if (!isDType(to)) throw new OpTypeError(`cannot cast to '${to}' (dtypes: ${DTYPES.join(', ')})`);
    return [{ dtype: to, shape: x!.shape }];
  },
});
