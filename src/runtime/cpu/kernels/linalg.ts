import { numel } from '../../../ir/types.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValue } from './values.js';

/**
 * The determinant of the n x n matrix at `a[offset...]`, by Gaussian elimination with partial
 * pivoting in double: the product of the pivots, negated per row swap.
 */
export function determinant(a: ArrayLike<number>, offset: number, n: number): number {
  const m = Float64Array.from({ length: n * n }, (_, i) => a[offset + i]!);
  let det = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    const pivot = m[p * n + c]!;
    if (pivot === 0) return 0;
    if (p !== c) {
      for (let k = c; k < n; k++) [m[c * n + k], m[p * n + k]] = [m[p * n + k]!, m[c * n + k]!];
      det = -det;
    }
    det *= pivot;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / pivot;
      for (let k = c + 1; k < n; k++) m[r * n + k]! -= f * m[c * n + k]!;
    }
  }
  return det;
}

const det: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const n = x!.shape[x!.shape.length - 1]!;
  const xs = hostValues(x!);
  for (let i = 0; i < numel(out.shape); i++) storeValue(out, i, determinant(xs, i * n * n, n));
  return [out];
};

export const linalgKernels: Record<string, CpuKernel> = { det };
