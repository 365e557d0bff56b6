import { broadcastStrides } from '../../../ir/ops/shape-util.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValue } from './values.js';

const matmul: CpuKernel = (node, [a, b]) => {
  const out = alloc(node.output.type);
  const [m, k] = a!.shape.slice(-2) as [number, number];
  const n = b!.shape.at(-1)!;
  const batchShape = out.shape.slice(0, -2);
  const aBatch = broadcastStrides(a!.shape.slice(0, -2), batchShape).map((s) => s * m * k);
  const bBatch = broadcastStrides(b!.shape.slice(0, -2), batchShape).map((s) => s * k * n);
  const av = hostValues(a!);
  const bv = hostValues(b!);
  // A row of accumulators walks b row by row (contiguous, unlike its columns): each element
  // still sums its k products in order p = 0, 1, ..., in f64, as a dot product would.
  const acc = new Float64Array(n);
  forEachIndex(batchShape, [aBatch, bBatch], (bi, [ao, bo]) => {
    const oo = bi * m * n;
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const x = av[ao! + i * k + p]!;
        const row = bo! + p * n;
        for (let j = 0; j < n; j++) acc[j] += x * bv[row + j]!;
      }
      for (let j = 0; j < n; j++) storeValue(out, oo + i * n + j, acc[j]!);
    }
  });
  return [out];
};

export const matmulKernels: Record<string, CpuKernel> = { matmul };
