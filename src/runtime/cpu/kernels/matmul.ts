import { broadcastStrides } from '../../../ir/ops/shape-util.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';

const matmul: CpuKernel = (node, [a, b]) => {
  const out = alloc(node.output.type);
  const [m, k] = a!.shape.slice(-2) as [number, number];
  const n = b!.shape.at(-1)!;
  const batchShape = out.shape.slice(0, -2);
  const aBatch = broadcastStrides(a!.shape.slice(0, -2), batchShape).map((s) => s * m * k);
  const bBatch = broadcastStrides(b!.shape.slice(0, -2), batchShape).map((s) => s * k * n);
  forEachIndex(batchShape, [aBatch, bBatch], (bi, [ao, bo]) => {
    const oo = bi * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a!.data[ao! + i * k + p]! * b!.data[bo! + p * n + j]!;
        out.data[oo + i * n + j] = acc;
      }
    }
  });
  return [out];
};

export const matmulKernels: Record<string, CpuKernel> = { matmul };
