import { axisRows } from '../../../ir/ops/softmax.js';
import { SCANS, scanAttrs, topKAttrs } from '../../../ir/ops/scan.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValue } from './values.js';
import { attrsOf } from '../../../ir/attrs.js';

/**
 * Calls `visit(base, extent, inner)` for every run along `axis`: its elements are at
 * base + j * inner for j < extent.
 */
function forEachRun(shape: readonly number[], axis: number, visit: (base: number, extent: number, inner: number) => void): void {
  const { rows, extent, inner } = axisRows(shape, axis);
  for (let r = 0; r < rows; r++) visit(Math.floor(r / inner) * extent * inner + (r % inner), extent, inner);
}

/**
 * cumsum / cumprod. Floats accumulate in double precision and round once per stored element;
 * integer sums are exact in a double and wrap to 32 bits when stored, products wrap as they go.
 */
const scan: CpuKernel = (node, [x]) => {
  const { init, step } = SCANS[node.op]!;
  const out = alloc(node.output.type);
  const xs = hostValues(x!);
  const { axis, exclusive, reverse } = attrsOf(node, scanAttrs);
  forEachRun(x!.shape, axis, (base, extent, inner) => {
    let acc = init;
    for (let s = 0; s < extent; s++) {
      const at = base + (reverse ? extent - 1 - s : s) * inner;
      const before = acc;
      acc = step(acc, xs[at]!, x!.dtype);
      storeValue(out, at, exclusive ? before : acc);
    }
  });
  return [out];
};

/** Ascending order as NumPy sorts: NaN above every number. */
function ascending(a: number, b: number): number {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return Number(na) - Number(nb);
  return a < b ? -1 : a > b ? 1 : 0;
}

const topK: CpuKernel = (node, [x]) => {
  const values = alloc(node.outputs[0]!.type);
  const indices = alloc(node.outputs[1]!.type);
  const { k, largest, axis } = attrsOf(node, topKAttrs);
  const xs = hostValues(x!);
  const sign = largest ? -1 : 1;
  forEachRun(x!.shape, axis, (base, extent, inner) => {
    const run = Array.from({ length: extent }, (_, j) => [xs[base + j * inner]!, j] as [number, number]);
    run.sort(([va, ia], [vb, ib]) => sign * ascending(va, vb) || ia - ib); // ties: the lower index first
    // The same run in the output: its base moves from an extent-long axis to a k-long one.
    const outBase = Math.floor(base / (extent * inner)) * k * inner + (base % inner);
    for (let j = 0; j < k; j++) {
      storeValue(values, outBase + j * inner, run[j]![0]);
      indices.data[outBase + j * inner] = run[j]![1];
    }
  });
  return [values, indices];
};

export const scanKernels: Record<string, CpuKernel> = { cumsum: scan, cumprod: scan, top_k: topK };
