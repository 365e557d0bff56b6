import { gemmDims } from '../../ir/ops/gemm.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitMatmul } from '../kernels/matmul.js';
import { anchorKernelName, plainLowerings, type Anchor } from './lowering.js';

/** ONNX Gemm on the matmul emitter: transposes change its indexing; alpha, beta and C are its epilogue. */
export const gemmAnchors: Record<string, Anchor> = {
  gemm: {
    roles: { reads: () => [], epilogue: () => ['elementwise'] },
    lower: (node, io) => {
      const [a, b, c] = node.inputs.map((v) => v.type.shape);
      const transA = node.attrs.trans_a as boolean;
      const transB = node.attrs.trans_b as boolean;
      const { m, n, k } = gemmDims(a!, b!, transA, transB);
      const [rowStride, colStride] = c ? broadcastStrides(c, [m, n]) : [0, 0];
      const [aRead, bRead, cRead] = io.operands;
      return emitMatmul({
        name: anchorKernelName('gemm', io), dtype: node.inputs[0]!.type.dtype, m, n, k, batchShape: [], aBatchStrides: [], bBatchStrides: [],
        sources: { a: aRead!.source, b: bRead!.source, ...(cRead ? { bias: cRead.source } : {}), out: io.out },
        ...(io.epilogue ? { epilogue: io.epilogue } : {}),
        transA, transB, alpha: node.attrs.alpha as number,
        ...(c ? { bias: { rowStride: rowStride!, colStride: colStride!, beta: node.attrs.beta as number } } : {}),
      });
    },
  },
};

export const gemmLowerings = plainLowerings(gemmAnchors);
