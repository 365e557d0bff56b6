import { broadcastStrides } from '../../ir/ops/shape-util.js';
import type { Shape } from '../../ir/types.js';
import { emitMatmul } from '../kernels/matmul.js';
import type { AnchorLowering, Lowering } from './lowering.js';

const matmul: AnchorLowering = (node, epilogue) => {
  const [a, b] = node.inputs.map((v) => v.type.shape) as [Shape, Shape];
  const [m, k] = a.slice(-2) as [number, number];
  const n = b.at(-1)!;
  const batchShape = node.output.type.shape.slice(0, -2);
  return emitMatmul({
    name: epilogue ? `matmul_${epilogue.name}` : 'matmul', dtype: node.inputs[0]!.type.dtype, m, n, k, batchShape, ...(epilogue ? { epilogue } : {}),
    aBatchStrides: broadcastStrides(a.slice(0, -2), batchShape).map((s) => s * m * k),
    bBatchStrides: broadcastStrides(b.slice(0, -2), batchShape).map((s) => s * k * n),
  });
};

export const matmulLowerings: Record<string, Lowering> = { matmul: (n) => matmul(n) };

/** matmul takes a fused epilogue. */
export const matmulAnchors: Record<string, AnchorLowering> = { matmul };
