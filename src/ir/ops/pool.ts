import { typedAttrs, type Attrs } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat, type Shape, type TensorType } from '../types.js';
import { largest } from './shape-util.js';
import { intList, requireNchw, windowCount, windowCountDim, type WindowAxis } from './conv.js';
import type { Dim } from '../size-expr.js';
import { defineOp } from './registry.js';

// 2-D pooling in NCHW layout. The stride defaults to the kernel size (PyTorch's rule) and is
// stored explicitly on the node, so IR text and ONNX (whose default is 1) never disagree.

/** Everything a windowed pooling kernel needs to know about its shapes. */
export interface PoolGeometry {
  readonly batch: number;
  readonly channels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly h: WindowAxis;
  readonly w: WindowAxis;
}

function requireFloatInput(x: TensorType): void {
  if (!isFloat(x.dtype)) throw new OpTypeError(`takes f32 or f16, got ${formatShapeType(x.dtype, x.shape)}`);
}

/**
 * Geometry of max_pool2d / avg_pool2d over x [N,C,H,W]. Each padding must be smaller than the
 * window's extent, so that (without dilation) every window overlaps the input.
 */
export function poolGeometry(x: Shape, attrs: Attrs): PoolGeometry {
  const a = typedAttrs(attrs, { ...poolWindowAttrs, dilation: { kind: 'ints', optional: true } }, 'pooling');
  const [kh, kw] = intList(a.kernel_size, 'kernel_size', 2, 1, '[kh, kw]') as [number, number];
  const [sh, sw] = intList(a.stride ?? a.kernel_size, 'stride', 2, 1, '[sh, sw]') as [number, number];
  const [pt, pl, pb, pr] = intList(a.padding, 'padding', 4, 0, '[top, left, bottom, right]') as [number, number, number, number];
  const [dh, dw] = a.dilation === undefined ? [1, 1] : intList(a.dilation, 'dilation', 2, 1, '[dh, dw]') as [number, number];
  const h: WindowAxis = { kernel: kh, stride: sh, dilation: dh, padBefore: pt, padAfter: pb };
  const w: WindowAxis = { kernel: kw, stride: sw, dilation: dw, padBefore: pl, padAfter: pr };
  for (const a of [h, w]) {
    const span = a.dilation * (a.kernel - 1) + 1;
    if (a.padBefore >= span || a.padAfter >= span) {
      throw new OpTypeError(`padding [${pt},${pl},${pb},${pr}] must be smaller than the ${kh}x${kw} window (dilation [${dh},${dw}]) on each side`);
    }
  }
  const ceil = a.ceil_mode;
  const [batch, channels, inH, inW] = x as [number, number, number, number];
  const outH = windowCount(inH, h, ceil);
  const outW = windowCount(inW, w, ceil);
  if (outH < 1 || outW < 1) {
    throw new OpTypeError(`the ${kh}x${kw} window does not fit input [${x.join(',')}] padded by [${pt},${pl},${pb},${pr}]`);
  }
  return { batch, channels, inH, inW, outH, outW, h, w };
}

/** A missing stride means the kernel size. */
const strideFromKernel = (attrs: Attrs): Attrs => (attrs.stride === undefined ? { ...attrs, stride: attrs.kernel_size! } : attrs);

/** The window attributes of max_pool2d and avg_pool2d (a missing stride is the kernel size). */
export const poolWindowAttrs = {
  kernel_size: { kind: 'ints' },
  stride: { kind: 'ints', optional: true },
  padding: { kind: 'ints', default: [0, 0, 0, 0] },
  ceil_mode: { kind: 'bool', default: false },
} as const;

function inferWindowPool(x: TensorType, attrs: Attrs, ints: boolean) {
  requireNchw(x, 'input');
  if (!ints || (x.dtype !== 'i32' && x.dtype !== 'u32')) requireFloatInput(x);
  const g = poolGeometry(x.shape, attrs);
  return [{ dtype: x.dtype, shape: [g.batch, g.channels, g.outH, g.outW] }];
}

/** The symbolic extents of a windowed pool's result. */
export function windowPoolDims([x]: readonly (readonly Dim[])[], attrs: Attrs): Dim[][] {
  const g = poolGeometry(largest(x!), attrs);
  return [[x![0]!, x![1]!, windowCountDim(x![2]!, g.h, attrs.ceil_mode === true), windowCountDim(x![3]!, g.w, attrs.ceil_mode === true)]];
}

/** max_pool2d's attributes. */
export const maxPool2dAttrs = { ...poolWindowAttrs, dilation: { kind: 'ints', default: [1, 1] } } as const;

/** Whether a max_pool2d's windows all lie inside its input plane: unpadded, undilated, in floor mode. */
export function windowsInsidePlane(a: { readonly padding: readonly number[]; readonly dilation: readonly number[]; readonly ceil_mode: boolean }): boolean {
  return a.padding.every((p) => p === 0) && a.dilation.every((d) => d === 1) && !a.ceil_mode;
}

/** max_pool2d (float or integer): padded positions never win (they are the dtype's lowest value). */
defineOp({
  name: 'max_pool2d', kind: 'anchor', inputs: 1,
  attrs: maxPool2dAttrs,
  completeAttrs: strideFromKernel,
  infer: ([x], attrs) => inferWindowPool(x!, attrs, true),
  dims: windowPoolDims,
});

/** avg_pool2d's attributes. */
export const avgPool2dAttrs = { ...poolWindowAttrs, count_include_pad: { kind: 'bool', default: false } } as const;

/**
 * avg_pool2d: with count_include_pad the divisor counts padded positions, but never a window's
 * part past the bottom/right padding that ceil_mode adds (as PyTorch does); without it, only
 * input positions count. count_include_pad defaults to false (ONNX); PyTorch frontends set it.
 */
defineOp({
  name: 'avg_pool2d', kind: 'anchor', inputs: 1,
  attrs: avgPool2dAttrs,
  completeAttrs: strideFromKernel,
  infer: ([x], attrs) => inferWindowPool(x!, attrs, false),
  dims: windowPoolDims,
});

/** global_avg_pool: mean over every spatial axis of x [N,C,...], kept as size 1. */
defineOp({
  name: 'global_avg_pool', kind: 'anchor', inputs: 1,
  infer: ([x]) => {
    if (x!.shape.length < 3) throw new OpTypeError(`input must be [N,C,spatial...], got ${formatShapeType(x!.dtype, x!.shape)}`);
    requireFloatInput(x!);
    return [{ dtype: x!.dtype, shape: [x!.shape[0]!, x!.shape[1]!, ...x!.shape.slice(2).map(() => 1)] }];
  },
});

/** Bin `i` of `out` bins over `size` elements, as PyTorch's adaptive pooling: [floor(i*size/out), ceil((i+1)*size/out)). */
export function adaptiveBin(i: number, size: number, out: number): [number, number] {
  return [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)];
}

/** adaptive_avg_pool2d's attributes. */
export const adaptivePool2dAttrs = { output_size: { kind: 'ints' } } as const;

/** adaptive_avg_pool2d: averages output_size [oh, ow] bins that may overlap or not divide the input. */
defineOp({
  name: 'adaptive_avg_pool2d', kind: 'anchor', inputs: 1,
  attrs: adaptivePool2dAttrs,
  infer: ([x], attrs) => {
    requireNchw(x!, 'input');
    requireFloatInput(x!);
    const [oh, ow] = intList(attrs.output_size, 'output_size', 2, 1, '[oh, ow]');
    if (x!.shape[2] === 0 || x!.shape[3] === 0) throw new OpTypeError(`cannot pool an empty input ${formatShapeType(x!.dtype, x!.shape)}`);
    return [{ dtype: x!.dtype, shape: [x!.shape[0]!, x!.shape[1]!, oh!, ow!] }];
  },
});
