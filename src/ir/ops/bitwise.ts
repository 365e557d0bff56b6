// Bitwise ops and shifts on the integer dtypes (i32 as two's complement, u32 unsigned).
import { OpTypeError } from '../errors.js';
import type { DType } from '../types.js';
import { defineOp, type ElementwiseMath } from './registry.js';
import { broadcastShapes, sameDType } from './shape-util.js';

function checkInt(dtype: DType): void {
  if (dtype !== 'i32' && dtype !== 'u32') throw new OpTypeError(`needs integer operands, got ${dtype}`);
}

/** A host result as the dtype holds it: JavaScript's bitwise operators give signed 32-bit numbers. */
const wrap = (x: number, dtype: DType) => (dtype === 'u32' ? x >>> 0 : x | 0);

function defineBitwise(name: string, inputs: 1 | 2, math: ElementwiseMath): void {
  defineOp({
    name, kind: 'elementwise', inputs, math,
    infer: (ins) => {
      const dtype = sameDType(ins);
      checkInt(dtype);
      return [{ dtype, shape: broadcastShapes(ins.map((t) => t.shape)) }];
    },
  });
}

defineBitwise('bitwise_and', 2, { cpu: ([a, b], d) => wrap(a! & b!, d), wgsl: ([a, b]) => `(${a} & ${b})` });
defineBitwise('bitwise_or', 2, { cpu: ([a, b], d) => wrap(a! | b!, d), wgsl: ([a, b]) => `(${a} | ${b})` });
defineBitwise('bitwise_xor', 2, { cpu: ([a, b], d) => wrap(a! ^ b!, d), wgsl: ([a, b]) => `(${a} ^ ${b})` });
defineBitwise('bitwise_not', 1, { cpu: ([a], d) => wrap(~a!, d), wgsl: ([a]) => `(~${a})` });

// Shifts by s: s outside [0, 32) shifts every bit out (0, or -1 for a negative i32 shifted right),
// where C leaves it undefined and WGSL and JavaScript take s mod 32. A negative i32 s counts as
// out of range (it is a huge shift read as unsigned). Right shifts of i32 are arithmetic.
const inRange = (s: number) => s >= 0 && s < 32;
defineBitwise('shift_left', 2, {
  cpu: ([x, s], d) => (inRange(s!) ? wrap(x! << s!, d) : 0),
  wgsl: ([x, s], t) => `select(${t}(0), ${x} << u32(${s}), u32(${s}) < 32u)`,
});
defineBitwise('shift_right', 2, {
  cpu: ([x, s], d) => {
    if (d === 'u32') return inRange(s!) ? x! >>> s! : 0;
    return x! >> (inRange(s!) ? s! : 31);
  },
  wgsl: ([x, s], t) => (t === 'u32'
    ? `select(0u, ${x} >> u32(${s}), u32(${s}) < 32u)`
    : `(${x} >> min(u32(${s}), 31u))`),
});
