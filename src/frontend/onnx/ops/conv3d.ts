// 3-D Conv and pools as kiln's 2-D ops (NCHW), so they run on the GPU.
//
// Conv: for each kernel depth offset kd, the depth slices kd*dilation, kd*dilation + stride, ...
// (of the depth-padded input) folded into the batch, convolved in 2-D with the weight's kd-th
// depth slice, summed over kd. Pools are separable: a 2-D pool over (H, W) with depth folded
// into the channels, then a [KD, 1] pool over depth. Max is exact; an average of averages is the
// 3-D average because both divisors (with or without padding, ceil_mode clipping) are products
// of per-axis counts; window sums (LpPool) are sums of sums.
import { typeOf, type Operand } from '../builder.js';
import type { OnnxNode } from '../node.js';
import { reshapeTo } from './helpers.js';
import { lastTwoAxes, type Window2d, type WindowNd } from './window-params.js';

/** [N, C, D, H, W] <-> [N, D, C, H, W]. */
const SWAP_C_D = [0, 2, 1, 3, 4];

/** The depth axis of a 3-D window as a 2-D window over [depth, 1]. */
function depthAxis(win: WindowNd): Window2d {
  return { kernel: [win.kernel[0]!, 1], stride: [win.stride[0]!, 1], dilation: [win.dilation[0]!, 1], padding: [win.begin[0]!, 0, win.end[0]!, 0] };
}

/** Conv of x [N, C, D, H, W] with w [M, C/groups, KD, KH, KW] and an optional bias [M]. */
export function conv3d(n: OnnxNode, x: Operand, w: Operand, bias: Operand | undefined, win: WindowNd, groups: number): Operand {
  const [batch, , depth] = typeOf(x).shape as number[];
  const ws = typeOf(w).shape;
  const [kd, sd, dd, pb, pe] = [win.kernel[0]!, win.stride[0]!, win.dilation[0]!, win.begin[0]!, win.end[0]!];
  if (ws[2] !== kd) n.fail(`kernel_shape [${win.kernel.join(',')}] does not match weight [${ws.join(',')}]`);
  const outDepth = Math.floor((depth! + pb + pe - dd * (kd - 1) - 1) / sd) + 1;
  if (outDepth < 1) n.fail(`the kernel does not fit the input's depth ${depth} padded by [${pb},${pe}]`);
  let xt = n.b.op('transpose', [x], { perm: SWAP_C_D });
  if (pb || pe) xt = n.b.op('pad', [xt], { pads: [0, pb, 0, 0, 0, 0, pe, 0, 0, 0] });
  const [, , c, h, wd] = typeOf(xt).shape as number[];
  const plane = lastTwoAxes(win);
  let sum: Operand | undefined;
  for (let k = 0; k < kd; k++) {
    const start = k * dd;
    const slices = n.b.op('slice', [xt], { starts: [start], ends: [start + (outDepth - 1) * sd + 1], axes: [1], steps: [sd] });
    const wk = n.b.op('slice', [w], { starts: [k], ends: [k + 1], axes: [2] });
    const y = n.b.op('conv2d', [reshapeTo(n.b, slices, [batch! * outDepth, c!, h!, wd!]), reshapeTo(n.b, wk, [ws[0]!, ws[1]!, ws[3]!, ws[4]!])], {
      stride: plane.stride, padding: plane.padding, dilation: plane.dilation, groups,
    });
    sum = sum ? n.b.op('add', [sum, y]) : y;
  }
  const [, m, oh, ow] = typeOf(sum!).shape as number[];
  const y = n.b.op('transpose', [reshapeTo(n.b, sum!, [batch!, outDepth, m!, oh!, ow!])], { perm: SWAP_C_D });
  return bias ? n.b.op('add', [y, reshapeTo(n.b, bias, [1, m!, 1, 1, 1])]) : y;
}

/**
 * A separable 3-D window op on x [N, C, D, H, W]: `plane2d` over (H, W) with depth folded into
 * the channels, then `depth2d` over [D, H*W]; each gets the 2-D window it acts on.
 */
function separable3d(n: OnnxNode, x: Operand, win: WindowNd, op: (x: Operand, w: Window2d) => Operand): Operand {
  const [batch, c, d, h, w] = typeOf(x).shape as number[];
  const planes = op(reshapeTo(n.b, x, [batch!, c! * d!, h!, w!]), lastTwoAxes(win));
  const [, , oh, ow] = typeOf(planes).shape as number[];
  const depths = op(reshapeTo(n.b, planes, [batch!, c!, d!, oh! * ow!]), depthAxis(win));
  return reshapeTo(n.b, depths, [batch!, c!, typeOf(depths).shape[2]!, oh!, ow!]);
}

/** MaxPool / AveragePool over a 3-D window. */
export function pool3d(n: OnnxNode, x: Operand, kind: 'max' | 'avg', win: WindowNd, ceilMode: boolean, countIncludePad: boolean): Operand {
  return separable3d(n, x, win, (t, w) => (kind === 'max'
    ? n.b.op('max_pool2d', [t], { kernel_size: w.kernel, stride: w.stride, padding: w.padding, dilation: w.dilation, ceil_mode: ceilMode })
    : n.b.op('avg_pool2d', [t], { kernel_size: w.kernel, stride: w.stride, padding: w.padding, ceil_mode: ceilMode, count_include_pad: countIncludePad })));
}

/** Sums of x over a 3-D window (padded positions add 0): depthwise convolutions with ones. */
export function windowSums3d(n: OnnxNode, x: Operand, win: WindowNd): Operand {
  return separable3d(n, x, win, (t, w) => {
    const channels = typeOf(t).shape[1]!;
    const ones = n.b.scalar(typeOf(t).dtype, 1, [channels, 1, w.kernel[0]!, w.kernel[1]!]);
    return n.b.op('conv2d', [t, ones], { stride: w.stride, padding: w.padding, dilation: w.dilation, groups: channels });
  });
}

/** A 3-D transposed convolution's per-axis parameters ([depth, height, width]). */
export interface Transpose3d {
  stride: number[];
  dilation: number[];
  outputPadding: number[];
  begin: number[];
  end: number[];
}

/**
 * ConvTranspose of x [N, C, D, H, W] with w [C, M/groups, KD, KH, KW]: for each kernel depth
 * offset kd, a 2-D transposed convolution of every depth slice (folded into the batch) with the
 * weight's kd-th slice lands at output depths d * stride + kd * dilation; the slices are spread
 * out with zeros between them, shifted there, summed over kd, and the depth padding cropped.
 */
export function convTranspose3d(n: OnnxNode, x: Operand, w: Operand, bias: Operand | undefined, t: Transpose3d, groups: number): Operand {
  const [batch, c, depth, h, wd] = typeOf(x).shape as number[];
  const ws = typeOf(w).shape;
  const [kd, sd, dd] = [ws[2]!, t.stride[0]!, t.dilation[0]!];
  const full = sd * (depth! - 1) + dd * (kd - 1) + 1 + t.outputPadding[0]!;
  if (t.begin[0]! < 0 || t.end[0]! < 0) n.unsupported(`negative depth pads [${t.begin[0]},${t.end[0]}] are not supported`);
  const outDepth = full - t.begin[0]! - t.end[0]!;
  if (outDepth < 1) n.fail(`pads [${[...t.begin, ...t.end].join(',')}] leave no output depth`);
  const slices = reshapeTo(n.b, n.b.op('transpose', [x], { perm: SWAP_C_D }), [batch! * depth!, c!, h!, wd!]);
  const two = (v: number[]) => v.slice(1);
  let sum: Operand | undefined;
  let plane: number[] = [];
  for (let k = 0; k < kd; k++) {
    const wk = reshapeTo(n.b, n.b.op('slice', [w], { starts: [k], ends: [k + 1], axes: [2] }), [ws[0]!, ws[1]!, ws[3]!, ws[4]!]);
    const y = n.b.op('conv_transpose2d', [slices, wk], {
      stride: two(t.stride), dilation: two(t.dilation), output_padding: two(t.outputPadding),
      padding: [...two(t.begin), ...two(t.end)], groups,
    });
    plane = typeOf(y).shape.slice(1);
    const rest = plane.reduce((a, b) => a * b, 1);
    // [N, D, R] -> [N, D * stride, R] with stride - 1 zero slices after each, then shifted to kd * dilation.
    const spread = reshapeTo(n.b, n.b.op('pad', [reshapeTo(n.b, y, [batch!, depth!, 1, rest])], { pads: [0, 0, 0, 0, 0, 0, sd - 1, 0] }), [batch!, depth! * sd, rest]);
    const placed = n.b.op('pad', [spread], { pads: [0, k * dd, 0, 0, full - k * dd - depth! * sd, 0] });
    sum = sum ? n.b.op('add', [sum, placed]) : placed;
  }
  const [m, oh, ow] = plane;
  const cropped = n.b.op('slice', [sum!], { starts: [t.begin[0]!], ends: [t.begin[0]! + outDepth], axes: [1] });
  const y = n.b.op('transpose', [reshapeTo(n.b, cropped, [batch!, outDepth, m!, oh!, ow!])], { perm: SWAP_C_D });
  return bias ? n.b.op('add', [y, reshapeTo(n.b, bias, [1, m!, 1, 1, 1])]) : y;
}
