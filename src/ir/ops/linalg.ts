// Linear algebra beyond matmul. det is inherently sequential per matrix (an LU factorisation),
// so it has no GPU kernel: placement runs it on the CPU.
import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat } from '../types.js';
import { defineOp } from './registry.js';

/** Determinants of square matrices: [..., M, M] -> [...]. */
defineOp({
  name: 'det', kind: 'opaque', inputs: 1,
  infer: ([x]) => {
    const s = x!.shape;
    if (!isFloat(x!.dtype)) throw new OpTypeError(`needs a float input, got ${formatShapeType(x!.dtype, s)}`);
    if (s.length < 2 || s[s.length - 1] !== s[s.length - 2]) {
      throw new OpTypeError(`needs square matrices in the last two dimensions, got ${formatShapeType(x!.dtype, s)}`);
    }
    return [{ dtype: x!.dtype, shape: s.slice(0, -2) }];
  },
});
