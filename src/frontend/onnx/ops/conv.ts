// Conv, ConvTranspose and the windowed pools. kiln's kernels are 2-D (NCHW); 1-D ones run as
// 2-D with a unit height, 3-D ones are decomposed into 2-D ones (conv3d.ts).
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { dilatedAveragePool } from './avg-pool-dilated.js';
import { conv3d, convTranspose3d, pool3d } from './conv3d.js';
import { reshapeTo } from './helpers.js';
import { as2d, from2d, lastTwoAxes, readWindow, readWindowNd, spatialRank } from './window-params.js';
import { storedWeight } from './stored-weights.js';

/** Conv's and ConvTranspose's input, its spatial rank, the weight with its shape checked, and the kernel size. */
function convOperands(n: OnnxNode) {
  const x = n.input(0);
  const spatial = spatialRank(n, x);
  const w = n.input(1);
  const ws = typeOf(w).shape;
  if (ws.length !== spatial + 2) n.fail(`weight [${ws.join(',')}] must have rank ${spatial + 2}`);
  return { x, spatial, w, ws, kernel: n.attrs.ints('kernel_shape', ws.slice(2)) };
}

defineOnnxOp('Conv', (n) => {
  const { x, spatial, w, ws, kernel } = convOperands(n);
  const bias = n.optional(2);
  if (spatial === 3) return conv3d(n, x, w, bias, readWindowNd(n, typeOf(x).shape.slice(2), kernel), n.attrs.int('group', 1));
  const win = readWindow(n, typeOf(x).shape.slice(2), kernel);
  // A QDQ model's 8-bit weight stays 8-bit (per output channel).
  const w2 = spatial === 1 ? reshapeTo(n.b, w, [ws[0]!, ws[1]!, 1, ws[2]!]) : storedWeight(n, w, 0);
  const y = n.b.op('conv2d', bias ? [as2d(n, x), w2, bias] : [as2d(n, x), w2], {
    stride: win.stride, padding: win.padding, dilation: win.dilation, groups: n.attrs.int('group', 1),
  });
  return from2d(n, y, spatial);
});

/**
 * ConvTranspose's padding: given, or derived from output_shape or auto_pad SAME_* (output =
 * input * stride), splitting an odd total as ONNX specifies (more at the end for SAME_UPPER).
 */
function transposePadding(n: OnnxNode, spatialIn: readonly number[], kernel: readonly number[], stride: readonly number[], dilation: readonly number[], outputPadding: readonly number[]): { begin: number[]; end: number[] } {
  const k = spatialIn.length;
  const autoPad = n.attrs.string('auto_pad', 'NOTSET');
  const outputShape = n.attrs.ints('output_shape');
  const natural = spatialIn.map((d, i) => stride[i]! * (d - 1) + outputPadding[i]! + (kernel[i]! - 1) * dilation[i]! + 1);
  let target: number[] | undefined;
  if (outputShape) target = outputShape.slice(-k);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') target = spatialIn.map((d, i) => d * stride[i]!);
  if (!target) {
    if (autoPad === 'VALID') return { begin: new Array<number>(k).fill(0), end: new Array<number>(k).fill(0) };
    const pads = n.attrs.ints('pads', new Array<number>(2 * k).fill(0));
    if (pads.length !== 2 * k) n.fail(`pads [${pads.join(',')}] must have ${2 * k} values`);
    return { begin: pads.slice(0, k), end: pads.slice(k) };
  }
  const begin: number[] = [];
  const end: number[] = [];
  target.forEach((t, i) => {
    const total = natural[i]! - t;
    // output_shape past the unpadded output: ONNX's reference and ONNX Runtime both put the
    // extra positions at the end (a negative end pad, see ConvTranspose below); with SAME_* they
    // disagree on where, so that is refused.
    if (total < 0) {
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') n.unsupported(`output_shape [${target.join(',')}] past the unpadded output with auto_pad ${autoPad}`);
      begin.push(0);
      end.push(total);
      return;
    }
    const half = Math.floor(total / 2);
    if (autoPad === 'SAME_UPPER') { begin.push(half); end.push(total - half); } else { begin.push(total - half); end.push(half); }
  });
  return { begin, end };
}

/**
 * ConvTranspose: a negative pad (output_shape past the unpadded output) adds output positions
 * that no input reaches: they hold the bias alone. The convolution runs with those pads at 0 and
 * no bias, its result is padded with zeros and the bias added after.
 */
defineOnnxOp('ConvTranspose', (n) => {
  const operands = convOperands(n);
  const { x, spatial, kernel } = operands;
  const ints = (name: string, dflt: number) => n.attrs.ints(name, new Array<number>(spatial).fill(dflt));
  const stride = ints('strides', 1);
  const dilation = ints('dilations', 1);
  const outputPadding = ints('output_padding', 0);
  const { begin, end } = transposePadding(n, typeOf(x).shape.slice(2), kernel, stride, dilation, outputPadding);
  const params = { stride, dilation, outputPadding, begin: begin.map((p) => Math.max(p, 0)), end: end.map((p) => Math.max(p, 0)) };
  const bias = n.optional(2);
  if (begin.every((p) => p >= 0) && end.every((p) => p >= 0)) return convTranspose(n, operands, params, bias);
  const y = convTranspose(n, operands, params, undefined);
  const widen = (ps: number[]) => [0, 0, ...ps.map((p) => Math.max(-p, 0))];
  const padded = n.b.op('pad', [y], { pads: [...widen(begin), ...widen(end)] });
  if (!bias) return padded;
  const channels = typeOf(padded).shape[1]!;
  return n.b.op('add', [padded, reshapeTo(n.b, bias, [channels, ...new Array<number>(spatial).fill(1)])]);
});

/** A transposed convolution with non-negative pads, 1-, 2- or 3-D. */
function convTranspose(
  n: OnnxNode, { x, spatial, w, ws }: ReturnType<typeof convOperands>,
  p: { stride: number[]; dilation: number[]; outputPadding: number[]; begin: number[]; end: number[] }, bias: Operand | undefined,
): Operand {
  const { stride, dilation, outputPadding, begin, end } = p;
  if (spatial === 3) return convTranspose3d(n, x, w, bias, p, n.attrs.int('group', 1));
  const two = (v: number[], fill: number) => (spatial === 1 ? [fill, v[0]!] : v);
  const w2 = spatial === 1 ? reshapeTo(n.b, w, [ws[0]!, ws[1]!, 1, ws[2]!]) : w;
  const y = n.b.op('conv_transpose2d', bias ? [as2d(n, x), w2, bias] : [as2d(n, x), w2], {
    stride: two(stride, 1), dilation: two(dilation, 1), output_padding: two(outputPadding, 0),
    padding: spatial === 1 ? [0, begin[0]!, 0, end[0]!] : [begin[0]!, begin[1]!, end[0]!, end[1]!],
    groups: n.attrs.int('group', 1),
  });
  return from2d(n, y, spatial);
}

// MaxPool; its Indices output (flat indices into X, row- or column-major per storage_order) is
// kiln's max_pool2d_indices beside the max_pool2d, computed only when something reads it.
defineOnnxOp('MaxPool', (n) => {
  const x = n.input(0);
  const spatial = spatialRank(n, x);
  const kernel = n.attrs.ints('kernel_shape');
  if (!kernel || kernel.length !== spatial) return n.fail(`needs kernel_shape with ${spatial} values`);
  const ceilMode = n.attrs.int('ceil_mode', 0) !== 0;
  const withIndices = n.outputUsed(1);
  if (spatial === 3) {
    if (withIndices) n.unsupported('its Indices output is supported for 1-D and 2-D pooling only');
    return pool3d(n, x, 'max', readWindowNd(n, typeOf(x).shape.slice(2), kernel), ceilMode, false);
  }
  const win = readWindow(n, typeOf(x).shape.slice(2), kernel);
  const attrs = { kernel_size: win.kernel, stride: win.stride, padding: win.padding, dilation: win.dilation, ceil_mode: ceilMode };
  const y = from2d(n, n.b.op('max_pool2d', [as2d(n, x)], attrs), spatial);
  if (!withIndices) return y;
  // A 1-D pool runs with unit height, where both orders index the row alike.
  const columnMajor = n.attrs.int('storage_order', 0) !== 0;
  return [y, from2d(n, n.b.op('max_pool2d_indices', [as2d(n, x)], { ...attrs, column_major: columnMajor }), spatial)];
});

defineOnnxOp('AveragePool', (n) => {
  const x = n.input(0);
  const spatial = spatialRank(n, x);
  const kernel = n.attrs.ints('kernel_shape');
  if (!kernel || kernel.length !== spatial) return n.fail(`needs kernel_shape with ${spatial} values`);
  const win = readWindowNd(n, typeOf(x).shape.slice(2), kernel);
  const ceilMode = n.attrs.int('ceil_mode', 0) !== 0;
  const countIncludePad = n.attrs.int('count_include_pad', 0) !== 0;
  if (win.dilation.some((d) => d !== 1)) return dilatedAveragePool(n, x, win, ceilMode, countIncludePad);
  if (spatial === 3) return pool3d(n, x, 'avg', win, ceilMode, countIncludePad);
  const w2 = lastTwoAxes(win);
  const y = n.b.op('avg_pool2d', [as2d(n, x)], {
    kernel_size: w2.kernel, stride: w2.stride, padding: w2.padding, ceil_mode: ceilMode, count_include_pad: countIncludePad,
  });
  return from2d(n, y, spatial);
});

defineOnnxOp('GlobalAveragePool', (n) => n.b.op('global_avg_pool', [n.input(0)]));
defineOnnxOp('GlobalMaxPool', (n) => {
  const x = n.input(0);
  const rank = typeOf(x).shape.length;
  if (rank < 3) n.fail(`needs an input [N, C, spatial...], got rank ${rank}`);
  return n.b.op('max', [x], { axes: Array.from({ length: rank - 2 }, (_, i) => i + 2), keepdims: true });
});
