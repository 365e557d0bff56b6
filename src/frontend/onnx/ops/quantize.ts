// Quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, and the integer and
// requantizing matmul and conv. Decomposed into kiln ops: quantized values are stored as ONNX
// types are (int8 in i32, float8 in f32), scaling is done in f32, and the integer products
// of MatMulInteger run as i32 matmuls, or as f32 ones on a constant 8-bit weight kept in its
// bits; either way the matmul kernels accumulate in f32, exact while partial sums stay below
// 2^24 (the CPU reference computes the i32 form exactly). Conv has no integer kernel, so the conv
// forms run in f32, which is exact as long as every partial sum stays below 2^24 (checked, else
// refused).
import { NARROW_FORMATS, type NarrowFormat } from '../../../ir/ops/narrow.js';
import { isConst, typeOf, type Operand } from '../builder.js';
import { constArray, makeConst, type ConstTensor } from '../tensor.js';
import { eachChannel, int8Weight } from './stored-weights.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { kilnDType, narrowFormatOf, OnnxType, onnxTypeName } from '../onnx-types.js';
import { as2d, from2d, readWindow, spatialRank } from './window-params.js';
import { castTo, normalizeAxis, reshapeTo } from './helpers.js';

export const f32 = (n: OnnxNode, x: Operand): Operand => castTo(n.b, x, 'f32');

/** The integer range of an integer format, or undefined for a float one. */
function intRange(format: NarrowFormat | undefined): [number, number] | undefined {
  const f = format === undefined ? undefined : NARROW_FORMATS[format];
  if (!f || f.kind !== 'int') return undefined;
  return f.signed ? [-(2 ** (f.bits - 1)), 2 ** (f.bits - 1) - 1] : [0, 2 ** f.bits - 1];
}

/**
 * A scale or zero point made to broadcast against `x` (rank `rank`): per tensor (a scalar or
 * one value), per axis (a 1-D tensor along `axis`), or blocked (`blockSize` > 0: x's shape with
 * ceil(d / blockSize) along `axis`, each value repeated over its block by a gather).
 */
function alongAxis(n: OnnxNode, p: Operand, xShape: readonly number[], axisAttr: number, blockSize: number): Operand {
  const s = typeOf(p).shape;
  const size = s.reduce((a, d) => a * d, 1);
  if (size === 1 && blockSize === 0) return reshapeTo(n.b, p, []);
  // The axis matters only to per-axis and blocked parameters (a rank-1 x keeps the default axis 1).
  const axis = normalizeAxis(n, axisAttr, xShape.length);
  if (blockSize > 0) {
    const extent = xShape[axis]!;
    if (s.length !== xShape.length || s[axis] !== Math.ceil(extent / blockSize)) {
      n.fail(`a blocked scale or zero point [${s.join(',')}] must have x's rank with ceil(${extent}/${blockSize}) along axis ${axis}`);
    }
    const blockOf = n.b.tensor('i32', [extent], Array.from({ length: extent }, (_, i) => Math.floor(i / blockSize)));
    return n.b.op('gather', [p, blockOf], { axis });
  }
  if (s.length !== 1 || s[0] !== xShape[axis]) n.fail(`a per-axis scale or zero point [${s.join(',')}] must be 1-D of x's extent ${xShape[axis]} along axis ${axis}`);
  return reshapeTo(n.b, p, xShape.map((d, i) => (i === axis ? d : 1)));
}

/** How Quantize/DequantizeLinear's scale and zero point line up with x (axis, block_size). */
function paramLayout(n: OnnxNode, x: Operand): (p: Operand) => Operand {
  const shape = typeOf(x).shape;
  const axis = n.attrs.int('axis', 1);
  const blockSize = n.attrs.int('block_size', 0);
  if (blockSize < 0) n.fail(`block_size must be >= 0, got ${blockSize}`);
  return (p) => alongAxis(n, p, shape, axis, blockSize);
}

/**
 * saturate(v + zero_point) into ONNX type `t`: v (f32, already divided by the scale) is rounded
 * half to even and clamped to the integer range, or, for float8/float4, cast with `saturate`.
 */
export function quantizeTo(n: OnnxNode, v: Operand, zeroPoint: Operand | undefined, t: number, saturate: boolean): Operand {
  const format = narrowFormatOf(t);
  const range = intRange(format);
  if (range) {
    let q = n.b.op('round', [v]);
    if (zeroPoint) q = n.b.op('add', [q, f32(n, zeroPoint)]);
    q = n.b.op('clip', [q], { min: range[0], max: range[1] });
    return n.b.op('cast', [q], { to: 'i32', format: format! });
  }
  if (format === undefined || kilnDType(t, `the quantized type of ${n.where}`) !== 'f32' || format === 'bfloat16' || format === 'float8e8m0') {
    return n.unsupported(`quantizing to ${onnxTypeName(t)} is not supported (kiln quantizes to 2- to 16-bit integers, float8 and float4)`);
  }
  const y = zeroPoint ? n.b.op('add', [v, f32(n, zeroPoint)]) : v;
  return n.b.op('cast', [y], { to: 'f32', format, ...(saturate ? {} : { saturate: false }) });
}

// QuantizeLinear: y = saturate(round(x / y_scale) + y_zero_point); y's type is the zero point's,
// else output_dtype (opset 21), else uint8.
defineOnnxOp('QuantizeLinear', (n) => {
  const x = n.input(0);
  const layout = paramLayout(n, x);
  const zp = n.optional(2);
  const t = (zp ? n.inputType(2) : undefined) ?? (n.attrs.int('output_dtype', 0) || OnnxType.UINT8);
  const v = n.b.op('div', [f32(n, x), f32(n, layout(n.input(1)))]);
  return quantizeTo(n, v, zp && layout(zp), t, n.attrs.int('saturate', 1) !== 0);
});

// DequantizeLinear: y = (x - x_zero_point) * x_scale, in the scale's type (or output_dtype, opset 23).
defineOnnxOp('DequantizeLinear', (n) => {
  const x = n.input(0);
  const layout = paramLayout(n, x);
  const scale = n.input(1);
  const zp = n.optional(2);
  const xv = zp ? n.b.op('sub', [f32(n, x), f32(n, layout(zp))]) : f32(n, x);
  const y = n.b.op('mul', [xv, f32(n, layout(scale))]);
  // The scale's ONNX type, when known, so a bfloat16 result is rounded to it.
  const outType = n.attrs.int('output_dtype', 0) || n.inputType(1);
  if (outType === undefined) return castTo(n.b, y, typeOf(scale).dtype);
  const format = narrowFormatOf(outType);
  const r = castTo(n.b, y, kilnDType(outType, `the output type of ${n.where}`));
  return format ? n.b.op('cast', [r], { to: typeOf(r).dtype, format }) : withOrigin(n, r, x, scale, zp);
});

/**
 * A folded DequantizeLinear of a constant int8 or uint8 weight (rank 2 or more, scales per
 * tensor or per axis) with where it came from, so a conv, matmul or gemm reading it can keep it
 * 8-bit (stored-weights.ts).
 */
function withOrigin(n: OnnxNode, r: Operand, x: Operand, scale: Operand, zp: Operand | undefined): Operand {
  const onnxType = n.inputType(0);
  if (!isConst(r) || !isConst(x) || !isConst(scale) || (zp && !isConst(zp)) || n.attrs.int('block_size', 0) !== 0) return r;
  if ((onnxType !== OnnxType.INT8 && onnxType !== OnnxType.UINT8) || typeOf(x).shape.length < 2) return r;
  const axis = normalizeAxis(n, n.attrs.int('axis', 1), typeOf(x).shape.length);
  return { ...r, dequantizedFrom: { values: constArray(x), onnxType, scales: constArray(scale), zeros: zp ? constArray(zp) : [], axis } };
}

// DynamicQuantizeLinear: uint8 with scale = (max(0, max x) - min(0, min x)) / 255 and
// zero point = saturate(round(-min / scale)); returns y, y_scale, y_zero_point.
defineOnnxOp('DynamicQuantizeLinear', (n) => {
  const x = f32(n, n.input(0));
  const zero = n.b.scalar('f32', 0);
  const lo = n.b.op('minimum', [n.b.op('min', [x], { axes: [], keepdims: false }), zero]);
  const hi = n.b.op('maximum', [n.b.op('max', [x], { axes: [], keepdims: false }), zero]);
  const scale = n.b.op('div', [n.b.op('sub', [hi, lo]), n.b.scalar('f32', 255)]);
  const zp = quantizeTo(n, n.b.op('div', [n.b.op('neg', [lo]), scale]), undefined, OnnxType.UINT8, true);
  const y = quantizeTo(n, n.b.op('div', [x, scale]), zp, OnnxType.UINT8, true);
  return [y, scale, zp];
});

/** x - zero_point in i32, the zero point reshaped by `shapeZp` when it is not a single value. */
function centered(n: OnnxNode, x: Operand, zp: Operand | undefined, shapeZp: (p: Operand) => Operand): Operand {
  const xi = castTo(n.b, x, 'i32');
  if (!zp) return xi;
  const size = typeOf(zp).shape.reduce((a, d) => a * d, 1);
  return n.b.op('sub', [xi, castTo(n.b, size === 1 ? reshapeTo(n.b, zp, []) : shapeZp(zp), 'i32')]);
}

/** A per-row parameter of a [.., M, K] operand given as an M-vector, as [M, 1]. */
const perRow = (n: OnnxNode) => (p: Operand): Operand => {
  const s = typeOf(p).shape;
  return s.length === 1 ? reshapeTo(n.b, p, [s[0]!, 1]) : p;
};
const asIs = (p: Operand): Operand => p;

/**
 * A' x (B - b_zero_point) where B is a constant 8-bit weight [K, N] and its zero point a constant
 * (one, or one a column), with B kept in 8 bits on the device as int8 (dequantize_int8 of scale
 * 1, which a one-row product stores [N, K], see align-weights.ts): B - zp = (B - o) - (zp - o),
 * o 128 for uint8 and 0 for int8, so B - o is int8 exactly, and the product is A' x (B - o) minus
 * A's row sums times (zp - o), a column's, which the matmul's epilogue subtracts (a reduction of
 * A the only kernel more; none where zp = o, as ONNX Runtime's dynamic quantization writes int8
 * weights by default). `centeredA` makes A' in f32. Undefined for any other B.
 */
function eightBitProduct(n: OnnxNode, centeredA: () => Operand, b: Operand, bzp: Operand | undefined, bType: number | undefined): Operand | undefined {
  const shape = typeOf(b).shape;
  if (!isConst(b) || shape.length !== 2 || (bType !== OnnxType.INT8 && bType !== OnnxType.UINT8) || (bzp && !isConst(bzp))) return undefined;
  const cols = shape[1]!;
  const zeros = bzp ? constArray(bzp) : [];
  if (zeros.length > 1 && zeros.length !== cols) return undefined;
  const o = bType === OnnxType.UINT8 ? 128 : 0;
  const ones = makeConst('scales', 'f32', [cols], new Array<number>(cols).fill(1));
  const a = centeredA();
  const product = n.b.op('matmul', [a, int8Weight(n, constArray(b), -o, ones, shape, 1)]);
  const shift = eachChannel(zeros, cols).map((z) => z - o);
  if (shift.every((c) => c === 0)) return product;
  const rank = typeOf(a).shape.length;
  const rowSums = n.b.op('sum', [a], { axes: [rank - 1], keepdims: true });
  return n.b.op('sub', [product, n.b.op('mul', [rowSums, makeConst('zero_points', 'f32', [cols], shift)])]);
}

/**
 * (a - a_zero_point) x (b - b_zero_point): a's zero point per row, b's per column; in i32, or in
 * f32 where B is a constant 8-bit weight kept in its bits (eightBitProduct; the matmul kernels
 * accumulate in f32 either way).
 */
export function integerMatMul(n: OnnxNode, a: Operand, azp: Operand | undefined, b: Operand, bzp: Operand | undefined, bType: number | undefined): Operand {
  if (typeOf(a).shape.length < 2 || typeOf(b).shape.length < 2) n.unsupported('integer matmul of 1-D operands is not supported');
  const stored = eightBitProduct(n, () => castTo(n.b, centered(n, a, azp, perRow(n)), 'f32'), b, bzp, bType);
  return stored ?? n.b.op('matmul', [centered(n, a, azp, perRow(n)), centered(n, b, bzp, asIs)]);
}

defineOnnxOp('MatMulInteger', (n) => castTo(n.b, integerMatMul(n, n.input(0), n.optional(2), n.input(1), n.optional(3), n.inputType(1)), 'i32'));

// QLinearMatMul: the integer product requantized: saturate(round(C * a_scale * b_scale / y_scale) + y_zero_point).
defineOnnxOp('QLinearMatMul', (n) => {
  const c = integerMatMul(n, n.input(0), n.optional(2), n.input(3), n.optional(5), n.inputType(3));
  const scale = n.b.op('div', [n.b.op('mul', [f32(n, perRow(n)(n.input(1))), f32(n, n.input(4))]), f32(n, n.input(6))]);
  const t = n.inputType(7) ?? n.inputType(0) ?? OnnxType.UINT8;
  return quantizeTo(n, n.b.op('mul', [f32(n, c), scale]), n.optional(7), t, true);
});

/** A per-output-channel vector [M] as a rank-`rank` [M, 1, ...]: a weight's rank, or a conv result's minus one. */
function perChannel(n: OnnxNode, p: Operand, rank: number): Operand {
  return reshapeTo(n.b, p, [typeOf(p).shape[0]!, ...new Array<number>(rank - 1).fill(1)]);
}

/** The largest |x - zero_point| of an integer ONNX type (the width of its range). */
function centeredBound(n: OnnxNode, i: number): number {
  const range = intRange(narrowFormatOf(n.inputType(i) ?? OnnxType.UINT8));
  if (!range) return n.unsupported(`input ${i} of type ${onnxTypeName(n.inputType(i) ?? 0)} is not a supported integer type`);
  return range[1] - range[0];
}

/**
 * How to split a centered weight (|w| <= `wBound`) into base-2^bits digits (bits <= `maxBits`)
 * so that a conv of `terms` products per output over activations |x| <= `xBound` sums exactly in
 * f32 (below 2^24) per digit: the digit width and how many digits (one, of no set width, when the
 * weight fits whole); undefined when even 1-bit digits overflow.
 */
export function weightDigits(terms: number, xBound: number, wBound: number, maxBits = 7): { bits: number; count: number } | undefined {
  const fits = (d: number) => terms * xBound * d < 2 ** 24;
  if (fits(wBound)) return { bits: 0, count: 1 };
  let bits = 0;
  while (bits < maxBits && fits(2 ** (bits + 1) - 1)) bits++;
  if (bits === 0) return undefined;
  // Floor division leaves digits in [0, 2^bits) below the top one, which is at most ceil(wBound / 2^(bits * (count - 1))).
  let count = 2;
  while (!fits(Math.ceil(wBound / 2 ** (bits * (count - 1))))) count++;
  return { bits, count };
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

/** A constant weight [O, ...] minus its zero point (one, or one an output channel), on the host. */
function constCentered(w: ConstTensor, wzp: ConstTensor | undefined, outChannels: number): Int32Array {
  const values = constArray(w);
  const perOut = values.length / outChannels;
  const zeros = eachChannel(wzp ? constArray(wzp) : [], outChannels);
  return Int32Array.from({ length: values.length }, (_, i) => values[i]! - zeros[Math.floor(i / perOut)]!);
}

/**
 * conv((x - x_zero_point), (w - w_zero_point)) in i32, computed in f32. A conv whose largest
 * possible sum of products stays below 2^24 is exact as it is; a longer one (3 x 3 over 64 or
 * more 8-bit channels) splits the centered weight into base-2^b digits w = sum_j 2^(b j) d_j,
 * each conv over one digit exact in f32, and sums the digits' convs shifted, in i32, exactly. A
 * constant weight's digits are made at import and kept as int8 (dequantize_int8 of scale 1), a
 * byte a weight a digit; so is a constant weight that fits whole in int8 once centered (int8
 * weights with zero point 0, as ONNX Runtime's QInt8 weights are). The zero point is subtracted
 * before padding, so padding contributes 0, as the ONNX reference pads.
 */
function integerConv(n: OnnxNode, xi: number, xzpi: number, wi: number, wzpi: number): Operand {
  const x = n.input(xi);
  const spatial = spatialRank(n, x);
  if (spatial > 2) n.unsupported(`3-D ${n.opType} is not supported (kiln's integer convolutions are 1-D and 2-D)`);
  const w = n.input(wi);
  const ws = typeOf(w).shape;
  if (ws.length !== spatial + 2) n.fail(`weight [${ws.join(',')}] must have rank ${spatial + 2}`);
  const terms = ws.slice(1).reduce((a, d) => a * d, 1);
  const digits = weightDigits(terms, centeredBound(n, xi), centeredBound(n, wi))
    ?? n.unsupported(`integer conv summing ${terms} products per output is not supported (kiln accumulates in f32, exact only below 2^24, even split into 1-bit weight digits)`);
  const xc = as2d(n, f32(n, centered(n, x, n.optional(xzpi), asIs)));
  const win = readWindow(n, typeOf(x).shape.slice(2), n.attrs.ints('kernel_shape', ws.slice(2)));
  const shape2d = spatial === 1 ? [ws[0]!, ws[1]!, 1, ws[2]!] : ws;
  const conv = (wd: Operand) => castTo(n.b, n.b.op('conv2d', [xc, reshapeTo(n.b, wd, shape2d)], {
    stride: win.stride, padding: win.padding, dilation: win.dilation, groups: n.attrs.int('group', 1),
  }), 'i32');
  const wzp = n.optional(wzpi);
  const stored = isConst(w) && (!wzp || isConst(wzp)) ? constCentered(w, wzp, ws[0]!) : undefined;
  const ones = () => makeConst('scales', 'f32', [ws[0]!], new Array<number>(ws[0]!).fill(1));
  let parts: Operand[];
  if (stored && (digits.count > 1 || stored.every((v) => v >= -128 && v <= 127))) {
    parts = digitsOf(stored, digits.bits, digits.count).map((d) => int8Weight(n, d, 0, ones(), shape2d, 0));
  } else if (digits.count === 1) parts = [f32(n, centered(n, w, wzp, (p) => perChannel(n, p, spatial + 2)))];
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
  const y = parts.map((d, j) => (j === 0 ? conv(d) : n.b.op('mul', [conv(d), n.b.scalar('i32', 2 ** (digits.bits * j))])))
    .reduce((a, b) => n.b.op('add', [a, b]));
  return from2d(n, y, spatial);
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
