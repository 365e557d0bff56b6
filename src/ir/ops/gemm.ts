import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { defineOp } from './registry.js';
import { sameDType } from './shape-util.js';

/** M, N, K of a gemm from its operand shapes and transpose flags. */
export function gemmDims(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean): { m: number; n: number; k: number; kB: number } {
  const [m, k] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [kB, n] = transB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  return { m, n, k, kB };
}

/** gemm's attributes. */
export const gemmAttrs = {
  trans_a: { kind: 'bool', default: false },
  trans_b: { kind: 'bool', default: false },
  alpha: { kind: 'float', default: 1 },
  beta: { kind: 'float', default: 1 },
} as const;

// ONNX Gemm: Y = alpha * op(A) @ op(B) + beta * C, with op() an optional transpose and C
// broadcast one way to [M, N].
defineOp({
  name: 'gemm', kind: 'anchor', inputs: [2, 3],
  attrs: gemmAttrs,
  infer: (ins, attrs) => {
    const dtype = sameDType(ins);
    if (dtype === 'bool') throw new OpTypeError('does not take bool');
    const [a, b, c] = ins;
    const shapes = ins.map((t) => formatShapeType(t.dtype, t.shape)).join(', ');
    if (a!.shape.length !== 2 || b!.shape.length !== 2) throw new OpTypeError(`needs matrices A and B of rank 2, got ${shapes} (use matmul for batches)`);
    const { m, n, k, kB } = gemmDims(a!.shape, b!.shape, attrs.trans_a, attrs.trans_b);
    if (k !== kB) {
      throw new OpTypeError(`inner dimensions differ: op(A) is [${m},${k}] and op(B) is [${kB},${n}] (from ${shapes}, trans_a=${String(attrs.trans_a)}, trans_b=${String(attrs.trans_b)})`);
    }
    if (c) {
      const off = 2 - c.shape.length;
      if (off < 0 || c.shape.some((d, i) => d !== 1 && d !== [m, n][i + off])) {
        throw new OpTypeError(`C ${formatShapeType(c.dtype, c.shape)} does not broadcast to the result [${m},${n}]`);
      }
    }
    return [{ dtype, shape: [m, n] }];
  },
});
