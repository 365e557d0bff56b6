// `kiln.functional`: stateless ops as in `torch.nn.functional`, with options objects for
// PyTorch's keyword arguments. The nn layers are built on these.
import { KilnError } from '../../ir/errors.js';
import { shapesEqual } from '../../ir/types.js';
import { constantOf } from './batch-norm.js';
import type { Random } from './random.js';
import { apply, autocastArgs, type Tensor } from './tensor.js';
import { dropoutMask } from './train-effects.js';

/** An int for both spatial dimensions, or [h, w]. */
export type Size2 = number | readonly [number, number];

/** Padding of a 2-D window: an int, [h, w] (symmetric), or [top, left, bottom, right]. */
export type Padding2 = number | readonly [number, number] | readonly [number, number, number, number];

/** [h, w] from an int or a pair. */
export function pair(v: Size2, what: string): [number, number] {
  const p: readonly number[] = typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x))) throw new KilnError(`${what} must be an int or a pair of ints, got ${JSON.stringify(v)}`);
  return [p[0]!, p[1]!];
}

/** [top, left, bottom, right] from PyTorch's int or [h, w] padding (or an explicit 4-list). */
export function padding4(p: Padding2, what = 'padding'): [number, number, number, number] {
  if (typeof p !== 'number' && p.length === 4) return [p[0]!, p[1]!, p[2]!, p[3]!];
  const [h, w] = pair(p as Size2, what);
  return [h, w, h, w];
}

export function relu(x: Tensor): Tensor { return x.relu(); }
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor { return x.gelu(opts); }
export function silu(x: Tensor): Tensor { return x.silu(); }
export function sigmoid(x: Tensor): Tensor { return x.sigmoid(); }
export function tanh(x: Tensor): Tensor { return x.tanh(); }
export function hardswish(x: Tensor): Tensor { return x.hardswish(); }
export function hardsigmoid(x: Tensor): Tensor { return x.hardsigmoid(); }
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor { return x.leakyRelu(negativeSlope); }
export function softmax(x: Tensor, dim: number): Tensor { return x.softmax(dim); }
export function logSoftmax(x: Tensor, dim: number): Tensor { return x.logSoftmax(dim); }

/** y = x W^T + b, with W of shape [out, in] (under autocast all three in float16, as PyTorch's). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const [x_, w, b] = autocastArgs('linear', bias ? [x, weight, bias] : [x, weight]);
  const y = x_!.matmul(w!.t());
  return b ? y.add(b) : y;
}

/** Options of conv2d, as PyTorch's (`padding` also takes [top, left, bottom, right]). */
export interface Conv2dOptions {
  readonly stride?: Size2;
  readonly padding?: Padding2 | 'valid' | 'same';
  readonly dilation?: Size2;
  readonly groups?: number;
}

/** 2-D convolution (cross-correlation) of x [N, C, H, W] with weight [O, C/groups, KH, KW]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const stride = pair(opts.stride ?? 1, 'stride');
  const dilation = pair(opts.dilation ?? 1, 'dilation');
  const padding = convPadding(opts.padding ?? 0, weight.shape, stride, dilation);
  const attrs = { stride, padding, dilation, groups: opts.groups ?? 1 };
  return apply('conv2d', bias ? [x, weight, bias] : [x, weight], attrs);
}

/** PyTorch's 'same' puts the odd padding element after (bottom/right); it needs stride 1. */
function convPadding(p: Padding2 | 'valid' | 'same', w: readonly number[], stride: [number, number], dilation: [number, number]): number[] {
  if (p === 'valid') return [0, 0, 0, 0];
  if (p !== 'same') return padding4(p);
  if (stride[0] !== 1 || stride[1] !== 1) throw new KilnError("padding='same' is not supported for strided convolutions");
  const total = [0, 1].map((i) => dilation[i]! * ((w[2 + i] ?? 1) - 1));
  const before = total.map((t) => Math.floor(t / 2));
  return [before[0]!, before[1]!, total[0]! - before[0]!, total[1]! - before[1]!];
}

export { batchNorm, type BatchNormOptions } from './batch-norm.js';
export { convTranspose2d, interpolate, groupNorm, pixelShuffle, maxPool1d, avgPool1d, adaptiveAvgPool1d, pad, gridSample, type ConvTranspose2dOptions, type InterpolateOptions, type Pool1dOptions, type GridSampleOptions } from './functional-more.js';
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from './attention.js';

/** Layer norm over the trailing dimensions `normalizedShape`, with optional elementwise affine. */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const n = normalizedShape.length;
  if (n === 0 || !shapesEqual(x.shape.slice(-n), normalizedShape) || x.shape.length < n) {
    throw new KilnError(`layerNorm: normalized shape [${normalizedShape.join(', ')}] does not match the trailing dimensions of the input [${x.shape.join(', ')}]`);
  }
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  if (!weight && bias) inputs.splice(1, 0, constantOf(bias, 1));
  return apply('layer_norm', inputs, { axis: -n, epsilon: eps });
}

/** Rows of `weight` [num, dim] picked by i32 `indices`: result indices.shape + [dim]. */
export function embedding(indices: Tensor, weight: Tensor): Tensor {
  return apply('embedding', [weight, indices]);
}

/** Options of 2-D pooling windows. */
export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  readonly stride?: Size2;
  readonly padding?: Padding2;
  readonly ceilMode?: boolean;
}

export function maxPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions & { dilation?: Size2 } = {}): Tensor {
  return apply('max_pool2d', [x], { ...poolAttrs(kernelSize, opts), dilation: pair(opts.dilation ?? 1, 'dilation') });
}

/** Average pooling; padded positions count in the divisor unless `countIncludePad` is false (PyTorch's default is true). */
export function avgPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions & { countIncludePad?: boolean } = {}): Tensor {
  return apply('avg_pool2d', [x], { ...poolAttrs(kernelSize, opts), count_include_pad: opts.countIncludePad ?? true });
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: Size2): Tensor {
  return apply('adaptive_avg_pool2d', [x], { output_size: pair(outputSize, 'output_size') });
}

function poolAttrs(kernelSize: Size2, opts: Pool2dOptions) {
  const kernel = pair(kernelSize, 'kernel_size');
  return {
    kernel_size: kernel,
    stride: opts.stride === undefined ? kernel : pair(opts.stride, 'stride'),
    padding: padding4(opts.padding ?? 0),
    ceil_mode: opts.ceilMode ?? false,
  };
}

/**
 * Zeroes each element with probability `p` and scales the rest by 1 / (1 - p) in training
 * (the mask from kiln's default generator, or `generator`); the identity otherwise. The mask
 * is a constant factor, so backward passes the gradient through the same mask.
 */
export function dropout(x: Tensor, opts: { p?: number; training?: boolean; generator?: Random } = {}): Tensor {
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new KilnError(`dropout probability has to be between 0 and 1, but got ${p}`);
  if (!(opts.training ?? true) || p === 0) return x;
  if (p === 1) return x.mul(0);
  return x.mul(dropoutMask(x, p, opts.generator));
}

/** Interleaves the channels of `groups` groups (ShuffleNet). */
export function channelShuffle(x: Tensor, groups: number): Tensor {
  return apply('channel_shuffle', [x], { groups });
}

// The losses, as torch.nn.functional has them too (defined with the training code).
export { crossEntropy, nllLoss, type ClassLossOptions, type Reduction } from '../train/losses.js';
export { mseLoss, l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, klDiv, type BinaryLossOptions } from '../train/pointwise-losses.js';
export { oneHot, normalize, cosineSimilarity, cdist } from './functional-vectors.js';
export { hardtanh, relu6, softplus, mish, logsigmoid, softsign, tanhshrink, celu, selu, glu } from './functional-activations.js';
