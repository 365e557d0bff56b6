import { gemmAttrs } from '../../ir/ops/gemm.js';
import { dimsOf } from '../../ir/types.js';
import type { Dim } from '../../ir/size-expr.js';
import { attrsOf } from '../../ir/attrs.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitMatmul } from '../kernels/matmul.js';
import { MATMUL_VARIANTS, matmulKernelName, matmulSignature, withOneRowVariant } from './matmul.js';
import { weightStorage } from '../kernels/weight-load.js';
import { anchorKernelName, plainLowerings, type Anchor } from './lowering.js';
import type { MatmulVariant } from '../kernels/matmul.js';

/** ONNX Gemm on the matmul emitter: transposes change its indexing; alpha, beta and C are its epilogue; an int8 B is dequantized as it loads. */
export const gemmAnchors: Record<string, Anchor> = {
  gemm: {
    roles: { reads: (_, i) => (i === 1 ? ['dequantize'] : []), epilogue: () => ['elementwise'] },
    lower: (node, io, ctx) => {
      const [a, , c] = node.inputs.map((v) => dimsOf(v.type));
      const { trans_a: transA, trans_b: transB, alpha, beta } = attrsOf(node, gemmAttrs);
      // Gemm's operands are matrices: M and N come from the result, K from A.
      const [m, n] = dimsOf(node.output.type) as [Dim, Dim];
      const k = a![transA ? 0 : 1]!;
      const [rowStride, colStride] = c ? broadcastStrides(c, [m, n]) : [0, 0];
      const [aRead, bRead, cRead] = io.operands;
      // Its variants are the matmul's, chosen by shape as a matmul's are (family 'gemm': the
      // adapter-class heuristic keeps GPUs on the default kernel Gemm always had).
      const dtype = node.inputs[0]!.type.dtype;
      const chosen = ctx?.choose?.('gemm', matmulSignature(m, n, k, 1, dtype), MATMUL_VARIANTS);
      return withOneRowVariant(m, (variant) => emitMatmul({
        ...(variant ? { variant } : {}),
        name: matmulKernelName(anchorKernelName('gemm', io), variant), dtype, m, n, k, batchShape: [], aBatchStrides: [], bBatchStrides: [],
        sources: { a: aRead!.source, b: bRead!.source, ...(cRead ? { bias: cRead.source } : {}), out: io.out },
        ...(io.epilogue ? { epilogue: io.epilogue } : {}),
        transA, transB, alpha,
        ...(bRead!.read === 'dequantize' ? { bStored: weightStorage(bRead!)! } : {}),
        ...(c ? { bias: { rowStride: rowStride!, colStride: colStride!, beta } } : {}),
      }), chosen as MatmulVariant | undefined);
    },
  },
};

export const gemmLowerings = plainLowerings(gemmAnchors);
