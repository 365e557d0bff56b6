import { dimRange, dimsEqual, dMul } from '../../ir/size-expr.js';
import { inputLayout, type ConvKernelSpec } from './conv-common.js';
import type { EmittedKernel } from './kernel.js';
import { emitMatmul } from './matmul.js';
import { MAX_WORKGROUPS_PER_DIMENSION } from '../wgsl.js';

// A pointwise convolution (1x1 window, stride 1, no padding, one group) is a matmul per image:
// out[n] (O x H*W) = w (O x C) x x[n] (C x H*W), plus the bias along the rows. As the `shuffle16x8`
// matmul (see matmul.ts) its weights, the same for every invocation of a workgroup, load once a
// subgroup, and its image is read four columns at a time where its rows allow.

/** Whether a convolution is such a matmul: a 1x1 window, stride 1, unpadded, ungrouped, its input read as stored (no cast, scale or int8). */
export function convPointwiseMatmulApplies(spec: ConvKernelSpec): boolean {
  const g = spec.geometry;
  const pointwise = g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 && g.padBottom === 0 && g.padRight === 0;
  // An image's pixels must be one run: rows read through a view follow each other.
  const oneRun = !spec.input || dimsEqual(spec.input.sH, g.inW);
  return pointwise && g.groups === 1 && oneRun && !spec.inputScale && !spec.wInt8 && !spec.xDType && dimRange(g.batch)[1] <= MAX_WORKGROUPS_PER_DIMENSION;
}

/** The pointwise convolution as a shuffle16x8 matmul, with the spec's bias, input view and epilogue. */
export function emitConvPointwiseMatmul(spec: ConvKernelSpec): EmittedKernel {
  const g = spec.geometry;
  const x = inputLayout(spec);
  return emitMatmul({
    name: spec.name,
    dtype: spec.dtype,
    sources: { a: spec.sources.w, b: spec.sources.x, ...(spec.sources.bias ? { bias: spec.sources.bias } : {}), out: spec.sources.out },
    m: g.outChannels,
    n: dMul(g.outH, g.outW),
    k: g.inChannels,
    batchShape: [g.batch],
    aBatchStrides: [0],
    bBatchStrides: [x.sN],
    aLayout: { offset: 0, batchStrides: [0], outer: g.inChannels, inner: 1 },
    bLayout: { offset: x.offset, batchStrides: [x.sN], outer: x.sC, inner: 1 },
    ...(spec.hasBias ? { bias: { rowStride: 1, colStride: 0, beta: 1 } } : {}),
    ...(spec.epilogue ? { epilogue: spec.epilogue } : {}),
    variant: 'shuffle16x8',
    // Bound as the other conv kernels bind (x, weights, bias, output), so it may be a variant of one.
    bFirst: true,
  });
}
