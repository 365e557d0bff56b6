// Quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, and the integer and
// requantizing matmul and conv. Decomposed into kiln ops: quantized values are stored as ONNX
// types are (int8 in i32, float8 in f32), scaling is done in f32, and the integer products
// of MatMulInteger run as i32 matmuls, or as f32 ones on a constant 8-bit weight kept in its
// bits; either way the matmul kernels accumulate in f32, exact while partial sums stay below
// 2^24 (the CPU reference computes the i32 form exactly). The integer convs are in integer-conv.ts.
import { NARROW_FORMATS, type NarrowFormat } from '../../../ir/ops/narrow.js';
import { isConst, typeOf, type Operand } from '../builder.js';
import { constArray, makeConst } from '../tensor.js';
import { eachChannel, int8Weight } from './stored-weights.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { kilnDType, narrowFormatOf, OnnxType, onnxTypeName } from '../onnx-types.js';
import { castTo, normalizeAxis, reshapeTo } from './helpers.js';

export const f32 = (n: OnnxNode, x: Operand): Operand => castTo(n.b, x, 'f32');

/** The integer range of an integer format, or undefined for a float one. */
export function intRange(format: NarrowFormat | undefined): [number, number] | undefined {
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
export function centered(n: OnnxNode, x: Operand, zp: Operand | undefined, shapeZp: (p: Operand) => Operand): Operand {
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
