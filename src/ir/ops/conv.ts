import { typedAttrs, type Attrs } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat, type Shape, type TensorType } from '../types.js';
import { defineOp } from './registry.js';
import { dAdd, dFloorDiv, dimText, dMul, type Dim } from '../size-expr.js';
import { largest, sameDType, staticDims } from './shape-util.js';

// 2-D convolutions in NCHW layout, as PyTorch and ONNX define them. Padding is always the
// explicit four values [top, left, bottom, right] so that ONNX's asymmetric pads fit; the
// frontends expand PyTorch's symmetric [ph, pw].

/** Where a sliding window sits along one spatial axis. */
export interface WindowAxis {
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padBefore: number;
  readonly padAfter: number;
}

/**
 * Number of window positions along one axis of extent `size`. With `ceilMode` a partial last
 * window counts, unless it would start in the trailing padding (PyTorch's and ONNX's rule).
 * Returns 0 or less when not even one window fits.
 */
export function windowCount(size: number, a: WindowAxis, ceilMode = false): number {
  const span = a.dilation * (a.kernel - 1) + 1;
  const room = size + a.padBefore + a.padAfter - span;
  if (room < 0) return 0;
  let out = (ceilMode ? Math.ceil(room / a.stride) : Math.floor(room / a.stride)) + 1;
  if (ceilMode && (out - 1) * a.stride >= size + a.padBefore) out--;
  return out;
}

/** windowCount of a symbolic extent: floor((size + pads - span) / stride) + 1 (checked >= 1 when the sizes are bound). */
export function windowCountDim(size: Dim, a: WindowAxis, ceilMode = false): Dim {
  if (typeof size === 'number') return windowCount(size, a, ceilMode);
  if (ceilMode && a.stride > 1) throw new OpTypeError(`ceil_mode with stride ${a.stride} along an extent that varies (${dimText(size)}) is not supported yet`);
  const span = a.dilation * (a.kernel - 1) + 1;
  return dAdd(dFloorDiv(dAdd(size, a.padBefore + a.padAfter - span), a.stride), 1);
}

/** Checks the values `v` of `ints` attribute `key`: `len` of them, each at least `min`. */
export function intList(v: readonly number[], key: string, len: number, min: number, what: string): number[] {
  if (v.length !== len) throw new OpTypeError(`${key} must have ${len} values ${what}, got [${v.join(',')}]`);
  if (v.some((x) => x < min)) throw new OpTypeError(`${key} values must be >= ${min}, got [${v.join(',')}]`);
  return [...v];
}

/** Requires a 4-D NCHW tensor; `role` names it in the error. */
export function requireNchw(t: TensorType, role: string): void {
  if (t.shape.length !== 4) throw new OpTypeError(`${role} must be 4-D [N,C,H,W], got ${formatShapeType(t.dtype, t.shape)}`);
}

function requireFloat(inputs: readonly TensorType[]): void {
  const dtype = sameDType(inputs);
  if (!isFloat(dtype)) throw new OpTypeError(`takes f32 or f16, got ${dtype}`);
}

/** Everything a conv2d or conv_transpose2d kernel needs to know about its shapes. */
export interface ConvGeometry {
  readonly batch: number;
  readonly inChannels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outChannels: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly groups: number;
  readonly inPerGroup: number;
  readonly outPerGroup: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly padBottom: number;
  readonly padRight: number;
}

/** conv2d's attributes (attrsOf(node, conv2dAttrs) reads them typed). */
export const conv2dAttrs = {
  stride: { kind: 'ints', default: [1, 1] },
  padding: { kind: 'ints', default: [0, 0, 0, 0] },
  dilation: { kind: 'ints', default: [1, 1] },
  groups: { kind: 'int', default: 1 },
} as const;

/** conv_transpose2d's attributes. */
export const convTranspose2dAttrs = { ...conv2dAttrs, output_padding: { kind: 'ints', default: [0, 0] } } as const;

interface ConvAttrs {
  stride: number[]; padding: number[]; dilation: number[]; groups: number;
}

function convAttrs(attrs: Attrs): ConvAttrs {
  const a = typedAttrs(attrs, conv2dAttrs, 'convolution');
  if (a.groups < 1) throw new OpTypeError(`groups must be >= 1, got ${a.groups}`);
  return {
    stride: intList(a.stride, 'stride', 2, 1, '[sh, sw]'),
    padding: intList(a.padding, 'padding', 4, 0, '[top, left, bottom, right]'),
    dilation: intList(a.dilation, 'dilation', 2, 1, '[dh, dw]'),
    groups: a.groups,
  };
}

function describeOperands(x: TensorType, w: TensorType): string {
  return `input ${formatShapeType(x.dtype, x.shape)}, weight ${formatShapeType(w.dtype, w.shape)}`;
}

function checkBias(bias: TensorType | undefined, outChannels: number): void {
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outChannels)) {
    throw new OpTypeError(`bias must be [${outChannels}] (one per output channel), got ${formatShapeType(bias.dtype, bias.shape)}`);
  }
}

/** Geometry of conv2d(x [N,C,H,W], w [O, C/groups, KH, KW]); throws OpTypeError when shapes disagree. */
export function conv2dGeometry(x: Shape, w: Shape, attrs: Attrs): ConvGeometry {
  const a = convAttrs(attrs);
  const [batch, inChannels, inH, inW] = x as [number, number, number, number];
  const [outChannels, inPerGroup, kernelH, kernelW] = w as [number, number, number, number];
  const xs = `[${x.join(',')}]`;
  const ws = `[${w.join(',')}]`;
  if (inChannels % a.groups !== 0 || outChannels % a.groups !== 0) {
    throw new OpTypeError(`groups=${a.groups} must divide the input channels (${inChannels}) and output channels (${outChannels}); input ${xs}, weight ${ws}`);
  }
  if (inPerGroup * a.groups !== inChannels) {
    throw new OpTypeError(`weight ${ws} has ${inPerGroup} input channels per group but input ${xs} with groups=${a.groups} has ${inChannels / a.groups}`);
  }
  const g = geometry(batch, inChannels, inH, inW, outChannels, kernelH, kernelW, a, inPerGroup, outChannels / a.groups);
  const axes = convAxes(g);
  const outH = windowCount(inH, axes.h);
  const outW = windowCount(inW, axes.w);
  if (outH < 1 || outW < 1) {
    throw new OpTypeError(`the ${kernelH}x${kernelW} kernel (dilation [${a.dilation.join(',')}]) does not fit input ${xs} padded by [${a.padding.join(',')}]`);
  }
  return { ...g, outH, outW };
}

/** Output padding of a conv_transpose2d: each must be below its axis' stride or dilation. */
export function outputPadding(attrs: Attrs): [number, number] {
  const a = typedAttrs(attrs, convTranspose2dAttrs, 'conv_transpose2d');
  const op = intList(a.output_padding, 'output_padding', 2, 0, '[ph, pw]');
  op.forEach((p, i) => {
    if (p >= Math.max(a.stride[i]!, a.dilation[i]!)) {
      throw new OpTypeError(`output_padding [${op.join(',')}] must be smaller than the stride or the dilation on each axis`);
    }
  });
  return op as [number, number];
}

/**
 * Geometry of conv_transpose2d(x [N,C,H,W], w [C, O/groups, KH, KW]): the gradient of a conv2d
 * whose input is this op's output. Output extent (H-1)*s - pad_top - pad_bottom + d*(KH-1) + output_padding + 1.
 */
export function convTranspose2dGeometry(x: Shape, w: Shape, attrs: Attrs): ConvGeometry {
  const a = convAttrs(attrs);
  const [batch, inChannels, inH, inW] = x as [number, number, number, number];
  const [wIn, outPerGroup, kernelH, kernelW] = w as [number, number, number, number];
  const xs = `[${x.join(',')}]`;
  const ws = `[${w.join(',')}]`;
  if (wIn !== inChannels) throw new OpTypeError(`weight ${ws} must have one row per input channel (${inChannels} for input ${xs})`);
  if (inChannels % a.groups !== 0) throw new OpTypeError(`groups=${a.groups} must divide the input channels (${inChannels})`);
  const [oph, opw] = outputPadding(attrs);
  const outH = (inH - 1) * a.stride[0]! - a.padding[0]! - a.padding[2]! + a.dilation[0]! * (kernelH - 1) + oph + 1;
  const outW = (inW - 1) * a.stride[1]! - a.padding[1]! - a.padding[3]! + a.dilation[1]! * (kernelW - 1) + opw + 1;
  if (outH < 1 || outW < 1) {
    throw new OpTypeError(`padding [${a.padding.join(',')}] leaves an empty output (${outH}x${outW}) for input ${xs}, weight ${ws}`);
  }
  const g = geometry(batch, inChannels, inH, inW, outPerGroup * a.groups, kernelH, kernelW, a, inChannels / a.groups, outPerGroup);
  return { ...g, outH, outW };
}

function geometry(
  batch: number, inChannels: number, inH: number, inW: number, outChannels: number,
  kernelH: number, kernelW: number, a: ConvAttrs, inPerGroup: number, outPerGroup: number,
): ConvGeometry {
  return {
    batch, inChannels, inH, inW, outChannels, outH: 0, outW: 0, kernelH, kernelW,
    groups: a.groups, inPerGroup, outPerGroup,
    strideH: a.stride[0]!, strideW: a.stride[1]!, dilationH: a.dilation[0]!, dilationW: a.dilation[1]!,
    padTop: a.padding[0]!, padLeft: a.padding[1]!, padBottom: a.padding[2]!, padRight: a.padding[3]!,
  };
}

/** The window along H and W of a conv geometry. */
export function convAxes(g: ConvGeometry): { h: WindowAxis; w: WindowAxis } {
  return {
    h: { kernel: g.kernelH, stride: g.strideH, dilation: g.dilationH, padBefore: g.padTop, padAfter: g.padBottom },
    w: { kernel: g.kernelW, stride: g.strideW, dilation: g.dilationW, padBefore: g.padLeft, padAfter: g.padRight },
  };
}

/** conv2d(x, weight, bias?): cross-correlation as in PyTorch's Conv2d and ONNX Conv. */
defineOp({
  name: 'conv2d', kind: 'anchor', inputs: [2, 3],
  attrs: conv2dAttrs,
  infer: ([x, w, bias], attrs) => {
    requireNchw(x!, 'input');
    if (w!.shape.length !== 4) throw new OpTypeError(`weight must be 4-D [O, C/groups, KH, KW]; ${describeOperands(x!, w!)}`);
    requireFloat(bias ? [x!, w!, bias] : [x!, w!]);
    const g = conv2dGeometry(x!.shape, w!.shape, attrs);
    checkBias(bias, g.outChannels);
    return [{ dtype: x!.dtype, shape: [g.batch, g.outChannels, g.outH, g.outW] }];
  },
  dims: ([x, w], attrs) => {
    const { h, w: wa } = convAxes(conv2dGeometry(largest(x!), staticDims(w!, 'weight'), attrs));
    return [[x![0]!, w![0]!, windowCountDim(x![2]!, h), windowCountDim(x![3]!, wa)]];
  },
});

/** conv_transpose2d(x, weight, bias?): PyTorch's ConvTranspose2d and ONNX ConvTranspose. */
defineOp({
  name: 'conv_transpose2d', kind: 'anchor', inputs: [2, 3],
  attrs: convTranspose2dAttrs,
  infer: ([x, w, bias], attrs) => {
    requireNchw(x!, 'input');
    if (w!.shape.length !== 4) throw new OpTypeError(`weight must be 4-D [C, O/groups, KH, KW]; ${describeOperands(x!, w!)}`);
    requireFloat(bias ? [x!, w!, bias] : [x!, w!]);
    const g = convTranspose2dGeometry(x!.shape, w!.shape, attrs);
    checkBias(bias, g.outChannels);
    return [{ dtype: x!.dtype, shape: [g.batch, g.outChannels, g.outH, g.outW] }];
  },
  // Each output extent is (in - 1) * stride plus a constant: (in - 1) * s - pads + d * (k - 1) + output_padding + 1.
  dims: ([x, w], attrs) => {
    const g = convTranspose2dGeometry(largest(x!), staticDims(w!, 'weight'), attrs);
    const grow = (inSize: Dim, stride: number, out: number, inMax: number) => dAdd(dMul(inSize, stride), out - inMax * stride);
    return [[x![0]!, g.outChannels, grow(x![2]!, g.strideH, g.outH, g.inH), grow(x![3]!, g.strideW, g.outW, g.inW)]];
  },
});
