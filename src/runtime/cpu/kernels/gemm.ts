import { gemmAttrs, gemmDims } from '../../../ir/ops/gemm.js';
import { broadcastStrides } from '../../../ir/ops/shape-util.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValue } from './values.js';
import { attrsOf } from '../../../ir/attrs.js';

/** ONNX Gemm in double: Y = alpha * op(A) @ op(B) + beta * C. */
const gemm: CpuKernel = (node, [a, b, c]) => {
  const out = alloc(node.output.type);
  const { trans_a: transA, trans_b: transB, alpha, beta } = attrsOf(node, gemmAttrs);
  const { m, n, k } = gemmDims(a!.shape, b!.shape, transA, transB);
  // Element (i, p) of op(A) and (p, j) of op(B), as offsets into the stored matrices.
  const [aRow, aCol] = transA ? [1, m] : [k, 1];
  const [bRow, bCol] = transB ? [1, k] : [n, 1];
  const [cRow, cCol] = c ? broadcastStrides(c.shape, [m, n]) : [0, 0];
  const [as, bs, cs] = [a, b, c].map((t) => (t ? hostValues(t) : []));
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += as![i * aRow + p * aCol]! * bs![p * bRow + j * bCol]!;
      storeValue(out, i * n + j, alpha * acc + (c ? beta * cs![i * cRow! + j * cCol!]! : 0));
    }
  }
  return [out];
};

export const gemmKernels: Record<string, CpuKernel> = { gemm };
