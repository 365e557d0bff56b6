// ONNX DeformConv: a 2-D convolution whose taps are moved by per-position offsets (and scaled
// by a mask). Where each tap reads depends on the data: the WebGPU kernel
// (src/codegen/kernels/deform-conv.ts) reads it per output element, as the CPU reference does.
import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { intList, windowCount, windowCountDim, type WindowAxis } from './conv.js';
import { staticDims } from './shape-util.js';
import { defineOp } from './registry.js';

/** deform_conv2d's attributes. */
export const deformConvAttrs = {
  stride: { kind: 'ints', default: [1, 1] },
  /** [top, left, bottom, right] */
  padding: { kind: 'ints', default: [0, 0, 0, 0] },
  dilation: { kind: 'ints', default: [1, 1] },
  groups: { kind: 'int', default: 1 },
  offset_groups: { kind: 'int', default: 1 },
} as const;

/**
 * deform_conv2d(x [N,C,H,W], w [M, C/groups, kH, kW], offset [N, G*kH*kW*2, oH, oW], bias [M],
 * mask [N, G*kH*kW, oH, oW]) -> [N, M, oH, oW], G = offset_groups. Tap (i, j) of output (y, x)
 * reads x bilinearly (zero outside) at (y*sH - top + i*dH + dy, x*sW - left + j*dW + dx), with
 * (dy, dx) from offset at channel pair ((g*kH + i)*kW + j)*2 for the input channel's offset group
 * g, and is scaled by the mask there.
 */
defineOp({
  name: 'deform_conv2d', kind: 'opaque', inputs: 5,
  attrs: deformConvAttrs,
  infer: ([x, w, offset, bias, mask], attrs) => {
    const all = [x!, w!, offset!, bias!, mask!];
    const shapes = all.map((t) => formatShapeType(t.dtype, t.shape)).join(', ');
    if (all.some((t) => t.dtype !== 'f32')) throw new OpTypeError(`takes f32 operands, got ${shapes}`);
    if (x!.shape.length !== 4 || w!.shape.length !== 4) throw new OpTypeError(`needs x [N,C,H,W] and w [M,C/groups,kH,kW], got ${shapes}`);
    const [n, c, h, wd] = x!.shape as number[];
    const [m, cg, kh, kw] = w!.shape as number[];
    const { groups, offset_groups: og } = attrs;
    if (groups < 1 || og < 1 || c! !== cg! * groups || m! % groups !== 0 || c! % og !== 0) {
      throw new OpTypeError(`groups ${groups} and offset_groups ${og} must divide the channels of ${shapes}`);
    }
    const [sh, sw] = intList(attrs.stride, 'stride', 2, 1, '[sH, sW]');
    const [dh, dw] = intList(attrs.dilation, 'dilation', 2, 1, '[dH, dW]');
    const [pt, pl, pb, pr] = intList(attrs.padding, 'padding', 4, 0, '[top, left, bottom, right]');
    const axisH: WindowAxis = { kernel: kh!, stride: sh!, dilation: dh!, padBefore: pt!, padAfter: pb! };
    const axisW: WindowAxis = { kernel: kw!, stride: sw!, dilation: dw!, padBefore: pl!, padAfter: pr! };
    const [oh, ow] = [windowCount(h!, axisH), windowCount(wd!, axisW)];
    const expect = (t: typeof x, shape: number[]) => t!.shape.length === shape.length && t!.shape.every((d, i) => d === shape[i]);
    if (oh < 1 || ow < 1 || !expect(offset, [n!, og * kh! * kw! * 2, oh, ow]) || !expect(mask, [n!, og * kh! * kw!, oh, ow]) || !expect(bias, [m!])) {
      throw new OpTypeError(`needs offset [${[n, og * kh! * kw! * 2, oh, ow].join(',')}], mask [${[n, og * kh! * kw!, oh, ow].join(',')}] and bias [${m}], got ${shapes}`);
    }
    return [{ dtype: 'f32', shape: [n!, m!, oh, ow] }];
  },
  // The output plane follows the input's, as a convolution's does (the weight's extents are fixed).
  dims: ([x, w], attrs) => {
    const [, , kh, kw] = staticDims(w!, 'weight');
    const [pt, pl, pb, pr] = attrs.padding;
    const axisH: WindowAxis = { kernel: kh!, stride: attrs.stride[0]!, dilation: attrs.dilation[0]!, padBefore: pt!, padAfter: pb! };
    const axisW: WindowAxis = { kernel: kw!, stride: attrs.stride[1]!, dilation: attrs.dilation[1]!, padBefore: pl!, padAfter: pr! };
    return [[x![0]!, w![0]!, windowCountDim(x![2]!, axisH), windowCountDim(x![3]!, axisW)]];
  },
});
