import { gemmDims } from '../../ir/ops/gemm.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitMatmul } from '../kernels/matmul.js';
import type { AnchorLowering, Lowering } from './lowering.js';

/** ONNX Gemm on the matmul emitter: transposes change its indexing; alpha, beta and C are its epilogue. */
const gemm: AnchorLowering = (node, epilogue) => {
  const [a, b, c] = node.inputs.map((v) => v.type.shape);
  const transA = node.attrs.trans_a as boolean;
  const transB = node.attrs.trans_b as boolean;
  const { m, n, k } = gemmDims(a!, b!, transA, transB);
  const [rowStride, colStride] = c ? broadcastStrides(c, [m, n]) : [0, 0];
  return emitMatmul({
    name: epilogue ? `gemm_${epilogue.name}` : 'gemm', dtype: node.inputs[0]!.type.dtype, m, n, k, batchShape: [], aBatchStrides: [], bBatchStrides: [],
    ...(epilogue ? { epilogue } : {}),
    transA, transB, alpha: node.attrs.alpha as number,
    ...(c ? { bias: { rowStride: rowStride!, colStride: colStride!, beta: node.attrs.beta as number } } : {}),
  });
};

export const gemmLowerings: Record<string, Lowering> = { gemm: (n) => gemm(n) };

/** gemm takes a fused epilogue. */
export const gemmAnchors: Record<string, AnchorLowering> = { gemm };
