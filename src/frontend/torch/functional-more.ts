import { KilnError } from '../../ir/errors.js';
import { apply } from './tensor-apply.js';
import type { Tensor } from './tensor.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, pair, padding4, type Padding2, type Pool2dOptions, type Size2 } from './functional.js';

// torch.nn.functional's transposed convolution, interpolation, group norm, 1-D pooling and
// padding, each one IR op or a few, so that they run on every device and differentiate through
// those ops.

export interface ConvTranspose2dOptions {
  readonly stride?: Size2;
  /** Taken off each side of the full output, as PyTorch's (an int, [h, w], or [top, left, bottom, right]). */
  readonly padding?: Padding2;
  /** Added to the bottom and right of the output, to pick among the sizes a strided conv maps from. */
  readonly outputPadding?: Size2;
  readonly dilation?: Size2;
  readonly groups?: number;
}

/** The transposed convolution of [N, C, H, W] by a weight [C, O/groups, KH, KW], as torch.nn.functional.conv_transpose2d. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: ConvTranspose2dOptions = {}): Tensor {
  const stride = pair(opts.stride ?? 1, 'stride');
  const outputPadding = pair(opts.outputPadding ?? 0, 'output_padding');
  if (outputPadding.some((p, i) => p >= Math.max(stride[i]!, pair(opts.dilation ?? 1, 'dilation')[i]!))) {
    throw new KilnError(`conv_transpose2d: output padding [${outputPadding.join(', ')}] must be smaller than either stride or dilation`);
  }
  const attrs = { stride, padding: padding4(opts.padding ?? 0), dilation: pair(opts.dilation ?? 1, 'dilation'), groups: opts.groups ?? 1, output_padding: outputPadding };
  return apply('conv_transpose2d', bias ? [x, weight, bias] : [x, weight], attrs);
}

export interface InterpolateOptions {
  /** The output's [H, W] (or one number for both); or give scaleFactor. */
  readonly size?: Size2;
  readonly scaleFactor?: number | readonly [number, number];
  /** 'nearest' (default) or 'bilinear'. */
  readonly mode?: 'nearest' | 'bilinear';
  /** For bilinear: map the corner pixels' centres onto each other (default false). */
  readonly alignCorners?: boolean;
}

/**
 * Resizes [N, C, H, W] as torch.nn.functional.interpolate: ONNX Resize with PyTorch's
 * coordinate maps (`asymmetric` for nearest, `pytorch_half_pixel` or `align_corners` for
 * bilinear) and its nearest rounding (floor).
 */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  if (x.shape.length !== 4) throw new KilnError(`interpolate: expects input [N, C, H, W], got [${x.shape.join(',')}]`);
  const mode = opts.mode ?? 'nearest';
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new KilnError('interpolate: give either size or scaleFactor, not both or neither');
  if (mode !== 'nearest' && mode !== 'bilinear') throw new KilnError(`interpolate: mode '${String(mode)}' is not supported; it takes 'nearest' and 'bilinear'`);
  if (mode === 'nearest' && opts.alignCorners !== undefined) throw new KilnError("interpolate: alignCorners applies to 'bilinear' only");
  const coordinates = mode === 'nearest' ? 'asymmetric' : opts.alignCorners ? 'align_corners' : 'pytorch_half_pixel';
  const scales = opts.scaleFactor === undefined ? undefined : typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : [...opts.scaleFactor];
  const common = { mode: mode === 'bilinear' ? 'linear' : 'nearest', coordinate_transformation_mode: coordinates, nearest_mode: 'floor' };
  if (scales) {
    // PyTorch sizes the output floor(in * scale) and maps coordinates by that scale.
    return apply('resize', [x], { ...common, scales: [1, 1, ...scales] });
  }
  return apply('resize', [x], { ...common, sizes: [x.shape[0]!, x.shape[1]!, ...pair(opts.size!, 'size')] });
}

/**
 * Group norm over [N, C, ...]: each sample's channels in `numGroups` groups, each normalised by its
 * mean and biased variance, then scaled and shifted per channel, as torch.nn.functional.group_norm.
 */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const [n, c] = x.shape as [number, number];
  if (x.shape.length < 2 || c % numGroups !== 0) throw new KilnError(`group_norm: ${x.shape[1]} channels of input [${x.shape.join(',')}] do not divide into ${numGroups} groups`);
  const grouped = x.reshape(n, numGroups, -1);
  const mean = grouped.mean(2, true);
  const d = grouped.sub(mean);
  const normalised = d.div(d.mul(d).mean(2, true).add(eps).sqrt()).reshape(x.shape);
  const perChannel = [1, c, ...x.shape.slice(2).map(() => 1)];
  const scaled = weight ? normalised.mul(weight.reshape(perChannel)) : normalised;
  return bias ? scaled.add(bias.reshape(perChannel)) : scaled;
}

/** [N, C * r * r, H, W] to [N, C, H * r, W * r], as torch.nn.functional.pixel_shuffle. */
export function pixelShuffle(x: Tensor, r: number): Tensor {
  const [n, cr, h, w] = x.shape as [number, number, number, number];
  if (x.shape.length !== 4 || cr % (r * r) !== 0) throw new KilnError(`pixel_shuffle: expects [N, C * ${r * r}, H, W], got [${x.shape.join(',')}]`);
  const c = cr / (r * r);
  return x.reshape(n, c, r, r, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r);
}

/** Options of 1-D pooling windows over [N, C, L]. */
export interface Pool1dOptions {
  /** Defaults to the kernel size. */
  readonly stride?: number;
  readonly padding?: number;
  readonly ceilMode?: boolean;
}

/** 1-D pooling as the 2-D pool of a [N, C, 1, L] view (what PyTorch's kernels do too). */
function pool1d(x: Tensor, what: string, pool2d: (x4: Tensor, k: [number, number], o: Pool2dOptions) => Tensor, kernelSize: number, opts: Pool1dOptions): Tensor {
  if (x.shape.length !== 3 && x.shape.length !== 2) throw new KilnError(`${what}: expects [N, C, L] or [C, L], got [${x.shape.join(', ')}]`);
  const x4 = x.shape.length === 3 ? x.unsqueeze(2) : x.unsqueeze(0).unsqueeze(2);
  const y = pool2d(x4, [1, kernelSize], { stride: [1, opts.stride ?? kernelSize], padding: [0, opts.padding ?? 0], ...(opts.ceilMode ? { ceilMode: true } : {}) });
  return y.reshape(x.shape.length === 3 ? [x.shape[0]!, x.shape[1]!, y.shape[3]!] : [x.shape[0]!, y.shape[3]!]);
}

export function maxPool1d(x: Tensor, kernelSize: number, opts: Pool1dOptions & { dilation?: number } = {}): Tensor {
  return pool1d(x, 'maxPool1d', (x4, k, o) => maxPool2d(x4, k, { ...o, dilation: [1, opts.dilation ?? 1] }), kernelSize, opts);
}

/** Average pooling over [N, C, L]; padded positions count in the divisor unless `countIncludePad` is false. */
export function avgPool1d(x: Tensor, kernelSize: number, opts: Pool1dOptions & { countIncludePad?: boolean } = {}): Tensor {
  return pool1d(x, 'avgPool1d', (x4, k, o) => avgPool2d(x4, k, { ...o, countIncludePad: opts.countIncludePad ?? true }), kernelSize, opts);
}

/** Averages [N, C, L] into `outputSize` bins along L. */
export function adaptiveAvgPool1d(x: Tensor, outputSize: number): Tensor {
  if (x.shape.length !== 3) throw new KilnError(`adaptiveAvgPool1d: expects [N, C, L], got [${x.shape.join(', ')}]`);
  const y = adaptiveAvgPool2d(x.unsqueeze(2), [1, outputSize]);
  return y.reshape([x.shape[0]!, x.shape[1]!, outputSize]);
}

/** PyTorch's padding modes, by the IR pad's names. */
const PAD_MODE = { constant: 'constant', reflect: 'reflect', replicate: 'edge', circular: 'wrap' } as const;

/**
 * Pads the last dimensions of `x` as F.pad: `pad` is (left, right) for the last dimension, then
 * (top, bottom) for the one before, and so on; negative amounts crop.
 */
export function pad(x: Tensor, amounts: readonly number[], mode: keyof typeof PAD_MODE = 'constant', value = 0): Tensor {
  const rank = x.shape.length;
  if (amounts.length % 2 !== 0 || amounts.length / 2 > rank) throw new KilnError(`pad: the padding must be pairs for at most ${rank} dimensions, got (${amounts.join(', ')})`);
  if (!(mode in PAD_MODE)) throw new KilnError(`pad: mode '${String(mode)}' is not one of ${Object.keys(PAD_MODE).join(', ')}`);
  const [begin, end] = [new Array<number>(rank).fill(0), new Array<number>(rank).fill(0)];
  for (let i = 0; i < amounts.length / 2; i++) {
    begin[rank - 1 - i] = amounts[2 * i]!;
    end[rank - 1 - i] = amounts[2 * i + 1]!;
  }
  return apply('pad', [x], { pads: [...begin, ...end], mode: PAD_MODE[mode], value });
}

/** Options of gridSample, as PyTorch's F.grid_sample. */
export interface GridSampleOptions {
  readonly mode?: 'bilinear' | 'nearest' | 'bicubic';
  readonly paddingMode?: 'zeros' | 'border' | 'reflection';
  readonly alignCorners?: boolean;
}

/**
 * Samples `input` [N, C, H, W] (or [N, C, D, H, W]) at the normalised coordinates of `grid`
 * [N, Ho, Wo, 2] (x first, in [-1, 1]), as F.grid_sample: one IR op with a WebGPU kernel and
 * gradient rules.
 */
export function gridSample(input: Tensor, grid: Tensor, opts: GridSampleOptions = {}): Tensor {
  const mode = ({ bilinear: 'linear', nearest: 'nearest', bicubic: 'cubic' } as const)[opts.mode ?? 'bilinear'];
  if (!mode) throw new KilnError(`gridSample: mode '${String(opts.mode)}' is not one of bilinear, nearest, bicubic`);
  if (mode === 'cubic' && input.shape.length !== 4) throw new KilnError(`gridSample: bicubic takes 4-D input, got [${input.shape.join(', ')}]`);
  return apply('grid_sample', [input, grid], { mode, padding_mode: opts.paddingMode ?? 'zeros', align_corners: opts.alignCorners ?? false });
}
