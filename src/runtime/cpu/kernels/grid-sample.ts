import { attrsOf, type AttrsOf } from '../../../ir/attrs.js';
import { gridSampleAttrs } from '../../../ir/ops/grid-sample.js';
import { numel } from '../../../ir/types.js';
import { alloc, type CpuKernel } from './kernel.js';

/** One sample along one axis: the input indices it reads and their weights. */
interface Taps { readonly index: number[]; readonly weight: number[] }

/** Folds x into [lo, hi] by reflecting at the nearer border until it lands inside. */
function reflect(x: number, lo: number, hi: number): number {
  const range = hi - lo;
  if (x < lo) {
    const dx = lo - x;
    const k = Math.trunc(dx / range);
    const r = dx - k * range;
    return k % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const k = Math.trunc(dx / range);
    const r = dx - k * range;
    return k % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

/** Keys' cubic convolution weights (a = -0.75) of the four neighbours at fraction t. */
function cubicWeights(t: number): number[] {
  const a = -0.75;
  const far = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  const near = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * Round half to even (C's nearbyint): nearest sampling's rounding, in 2-D and (as the ONNX
 * suite's expected outputs have it) in 3-D too.
 */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The taps along one axis of extent `size` for normalised coordinate `g`: denormalise,
 * (nearest: round), fold a coordinate outside the border (border: clamp; reflection: reflect),
 * then read neighbours, whose indices the padding mode resolves (-1: reads zero).
 */
function taps(g: number, size: number, attrs: AttrsOf<typeof gridSampleAttrs>): Taps {
  const { align_corners: align, padding_mode: padding, mode } = attrs;
  const [lo, hi] = align ? [0, size - 1] : [-0.5, size - 0.5];
  let x = align ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2;
  if (mode === 'nearest') x = roundHalfEven(x);
  // Cubic folds each of its taps only, not the coordinate (as PyTorch and ONNX Runtime do).
  if ((x < lo || x > hi) && mode !== 'cubic') {
    if (padding === 'border') x = Math.min(Math.max(x, 0), size - 1);
    else if (padding === 'reflection') x = reflect(x, lo, hi);
  }
  const resolve = (i: number): number => {
    if (padding === 'zeros') return i >= 0 && i < size ? i : -1;
    if (padding === 'border') return Math.min(Math.max(i, 0), size - 1);
    return Math.trunc(reflect(i, lo, hi));
  };
  if (mode === 'nearest') return { index: [resolve(Math.trunc(x))], weight: [1] };
  const x0 = Math.floor(x);
  const t = x - x0;
  if (mode === 'linear') return { index: [x0, x0 + 1].map(resolve), weight: [1 - t, t] };
  return { index: [x0 - 1, x0, x0 + 1, x0 + 2].map(resolve), weight: cubicWeights(t) };
}

/** GridSample on the host: every output element sums the product of its per-axis taps. */
const gridSample: CpuKernel = (node, [x, grid]) => {
  const out = alloc(node.output.type);
  const [n, c, ...dims] = x!.shape as number[];
  const r = dims.length;
  const outDims = grid!.shape.slice(1, r + 1) as number[];
  const points = numel(outDims);
  const plane = numel(dims);
  const strides = dims.map((_, k) => numel(dims.slice(k + 1)));
  const attrs = attrsOf(node, gridSampleAttrs);
  for (let b = 0; b < n!; b++) {
    for (let p = 0; p < points; p++) {
      // The grid lists x (innermost axis) first: axis k of X takes grid component r - 1 - k.
      const at = (b * points + p) * r;
      const perAxis = dims.map((size, k) => taps(grid!.data[at + r - 1 - k]!, size, attrs));
      // Every combination of one tap per axis, with its offset and weight (-1: a zero read).
      let combos: { offset: number; weight: number }[] = [{ offset: 0, weight: 1 }];
      perAxis.forEach((t, k) => {
        combos = combos.flatMap((cmb) => t.index.map((i, j) => ({
          offset: cmb.offset < 0 || i < 0 ? -1 : cmb.offset + i * strides[k]!,
          weight: cmb.weight * t.weight[j]!,
        })));
      });
      for (let ch = 0; ch < c!; ch++) {
        const base = (b * c! + ch) * plane;
        let sum = 0;
        for (const { offset, weight } of combos) if (offset >= 0) sum += weight * x!.data[base + offset]!;
        out.data[(b * c! + ch) * points + p] = sum;
      }
    }
  }
  return [out];
};

export const gridSampleKernels: Record<string, CpuKernel> = { grid_sample: gridSample };
