// ConvInteger and QLinearConv. kiln has no integer conv kernel, so these run as f32 convs, which
// are exact while every partial sum of products stays below 2^24 (exact-sums.ts). A
// conv is split where that bound needs it: a constant weight by ranges of input channels (the
// same products, summed in i32 between ranges), any other weight into base-2^b digits.
import { isConst, typeOf, type Operand } from '../builder.js';
import { constArray, makeConst } from '../tensor.js';
import { eachChannel, unitInt8Weight } from './stored-weights.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { OnnxType } from '../onnx-types.js';
import { as2d, from2d, readWindow, spatialRank } from './window-params.js';
import { castTo, reshapeTo } from './helpers.js';
import { centered, f32, quantizeTo } from './quantize.js';
import { centeredBound, channelRanges, rangeOf, sumInI32, weightDigits } from './exact-sums.js';

/** A per-output-channel vector [M] as a rank-`rank` [M, 1, ...]: a weight's rank, or a conv result's minus one. */
function perChannel(n: OnnxNode, p: Operand, rank: number): Operand {
  return reshapeTo(n.b, p, [typeOf(p).shape[0]!, ...new Array<number>(rank - 1).fill(1)]);
}

/** The base-2^bits digits of each value (the low ones in [0, 2^bits), the top one the rest), low first. */
function digitsOf(values: ArrayLike<number>, bits: number, count: number): Int32Array[] {
  const out = Array.from({ length: count }, () => new Int32Array(values.length));
  const base = 2 ** bits;
  for (let i = 0; i < values.length; i++) {
    let rest = values[i]!;
    for (let j = 0; j + 1 < count; j++) {
      const high = Math.floor(rest / base);
      out[j]![i] = rest - high * base;
      rest = high;
    }
    out[count - 1]![i] = rest;
  }
  return out;
}

/** A constant 8-bit weight [O, ...] as stored and its zero point for each output channel, on the host. */
interface HostWeight { values: ArrayLike<number>; zeros: number[]; onnxType: number }

function hostWeight(n: OnnxNode, w: Operand, wzp: Operand | undefined, wi: number): HostWeight | undefined {
  const onnxType = n.inputType(wi);
  if (!isConst(w) || (wzp && !isConst(wzp)) || (onnxType !== OnnxType.UINT8 && onnxType !== OnnxType.INT8)) return undefined;
  return { values: constArray(w), zeros: eachChannel(wzp ? constArray(wzp) : [], typeOf(w).shape[0]!), onnxType };
}

/** w - zero_point, on the host. */
function centeredValues(w: HostWeight): Int32Array {
  const perOut = w.values.length / w.zeros.length;
  return Int32Array.from({ length: w.values.length }, (_, i) => w.values[i]! - w.zeros[Math.floor(i / perOut)]!);
}

/** Input channels [c0, c1) of a weight [O, C, taps...] laid out flat. */
function channelSlice(values: ArrayLike<number>, outChannels: number, inChannels: number, [c0, c1]: [number, number]): Int32Array {
  const taps = values.length / (outChannels * inChannels);
  const out = new Int32Array(outChannels * (c1 - c0) * taps);
  for (let o = 0, k = 0; o < outChannels; o++) {
    for (let i = (o * inChannels + c0) * taps, end = (o * inChannels + c1) * taps; i < end; i++) out[k++] = values[i]!;
  }
  return out;
}

/**
 * A constant centered 8-bit weight kept a byte a value on the device: int8 as it is where it fits
 * (int8 weights with zero point 0), else w - o (o 128 for uint8, 0 for int8: int8 exactly) plus
 * o - zero_point, a channel's, added as the conv reads it.
 */
function byteWeight(n: OnnxNode, w: HostWeight, centeredPart: Int32Array, storedPart: Int32Array, shape: readonly number[]): Operand {
  if (centeredPart.every((v) => v >= -128 && v <= 127)) return unitInt8Weight(n, centeredPart, 0, shape, 0);
  const o = w.onnxType === OnnxType.UINT8 ? 128 : 0;
  const shift = makeConst('zero_points', 'f32', [shape[0]!, ...shape.slice(1).map(() => 1)], w.zeros.map((z) => o - z));
  return n.b.op('add', [unitInt8Weight(n, storedPart, -o, shape, 0), shift]);
}

/**
 * conv((x - x_zero_point), (w - w_zero_point)) in i32, computed by f32 convs, each exact (every
 * partial sum below 2^24). A constant 8-bit weight is split by ranges of input channels
 * (channelRanges), each range's conv over a slice of x, summed in i32: the products are the
 * conv's own, so the work is one conv's; it is kept a byte a value (byteWeight). Any other weight
 * whose largest sums pass 2^24 (known only at run time, or grouped) is split into base-2^b digits
 * w = sum_j 2^(b j) d_j (weightDigits), a conv a digit summed shifted in i32; a constant's digits
 * are int8 weights. The zero point is subtracted before padding, so padding contributes 0, as the
 * ONNX reference pads.
 */
function integerConv(n: OnnxNode, xi: number, xzpi: number, wi: number, wzpi: number): Operand {
  const x = n.input(xi);
  const spatial = spatialRank(n, x);
  if (spatial > 2) n.unsupported(`3-D ${n.opType} is not supported (kiln's integer convolutions are 1-D and 2-D)`);
  const w = n.input(wi);
  const ws = typeOf(w).shape;
  if (ws.length !== spatial + 2) n.fail(`weight [${ws.join(',')}] must have rank ${spatial + 2}`);
  const xBound = centeredBound(n, n.inputType(xi), `input ${xi}`);
  const xc = as2d(n, f32(n, centered(n, x, n.optional(xzpi), (p) => p)));
  const win = readWindow(n, typeOf(x).shape.slice(2), n.attrs.ints('kernel_shape', ws.slice(2)));
  const shape2d = spatial === 1 ? [ws[0]!, ws[1]!, 1, ws[2]!] : ws;
  const groups = n.attrs.int('group', 1);
  const conv = (xs: Operand, wd: Operand, inChannels = ws[1]!) => castTo(n.b, n.b.op('conv2d', [xs, reshapeTo(n.b, wd, [shape2d[0]!, inChannels, ...shape2d.slice(2)])], {
    stride: win.stride, padding: win.padding, dilation: win.dilation, groups,
  }), 'i32');
  const sum = (parts: Operand[]) => from2d(n, sumInI32(n, parts), spatial);
  const wzp = n.optional(wzpi);
  const host = hostWeight(n, w, wzp, wi);
  const cw = host && centeredValues(host);
  const ranges = cw && channelRanges(cw, ws[0]!, ws[1]!, xBound);
  if (host && cw && ranges && (ranges.length === 1 || groups === 1)) {
    return sum(ranges.map((r) => {
      const xs = rangeOf(n, xc, 1, r);
      const part = (v: ArrayLike<number>) => channelSlice(v, ws[0]!, ws[1]!, r);
      return conv(xs, byteWeight(n, host, part(cw), part(host.values), [shape2d[0]!, r[1] - r[0], ...shape2d.slice(2)]), r[1] - r[0]);
    }));
  }
  const terms = ws.slice(1).reduce((a, d) => a * d, 1);
  const digits = weightDigits(terms, xBound, centeredBound(n, n.inputType(wi), `input ${wi}`))
    ?? n.unsupported(`integer conv summing ${terms} products per output is not supported (kiln accumulates in f32, exact only below 2^24, even split into 1-bit weight digits)`);
  let parts: Operand[];
  if (cw) parts = digitsOf(cw, digits.bits, digits.count).map((d) => unitInt8Weight(n, d, 0, shape2d, 0));
  else if (digits.count === 1) parts = [f32(n, centered(n, w, wzp, (p) => perChannel(n, p, spatial + 2)))];
  else {
    // A weight known only at run time is split by elementwise ops (exact small integers in f32).
    const base = n.b.scalar('f32', 2 ** digits.bits);
    let rest = f32(n, centered(n, w, wzp, (p) => perChannel(n, p, spatial + 2)));
    parts = [];
    for (let j = 0; j + 1 < digits.count; j++) {
      const high = n.b.op('floor', [n.b.op('div', [rest, base])]);
      parts.push(n.b.op('sub', [rest, n.b.op('mul', [high, base])]));
      rest = high;
    }
    parts.push(rest);
  }
  return sum(parts.map((d, j) => (j === 0 ? conv(xc, d) : n.b.op('mul', [conv(xc, d), n.b.scalar('i32', 2 ** (digits.bits * j))]))));
}

defineOnnxOp('ConvInteger', (n) => integerConv(n, 0, 2, 1, 3));

// QLinearConv: conv of the centered integers plus the int32 bias, requantized like QLinearMatMul;
// w_scale may be per output channel.
defineOnnxOp('QLinearConv', (n) => {
  // The int32 bias is added in i32, exactly, to the (exact) integer conv.
  const bias = n.optional(8);
  const conv = integerConv(n, 0, 2, 3, 5);
  const rank = typeOf(conv).shape.length;
  const c = f32(n, bias ? n.b.op('add', [conv, perChannel(n, castTo(n.b, bias, 'i32'), rank - 1)]) : conv);
  const ws = f32(n, n.input(4));
  const wsc = typeOf(ws).shape.reduce((a, d) => a * d, 1) === 1 ? reshapeTo(n.b, ws, []) : perChannel(n, ws, rank - 1);
  const scale = n.b.op('div', [n.b.op('mul', [f32(n, n.input(1)), wsc]), f32(n, n.input(6))]);
  const t = n.inputType(7) ?? n.inputType(0) ?? OnnxType.UINT8;
  return quantizeTo(n, n.b.op('mul', [c, scale]), n.optional(7), t, true);
});
