// Quantization: QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear, decomposed into kiln
// ops: quantized values are stored as ONNX types are (int8 in i32, float8 in f32) and scaling is
// done in f32. The integer matmuls and convs are in integer-matmul.ts and integer-conv.ts.
import { isConst, typeOf, type Operand } from '../builder.js';
import { constArray } from '../tensor.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { kilnDType, narrowFormatOf, OnnxType, onnxTypeName } from '../onnx-types.js';
import { castTo, normalizeAxis, reshapeTo } from './helpers.js';
import { intRange } from './exact-sums.js';

export const f32 = (n: OnnxNode, x: Operand): Operand => castTo(n.b, x, 'f32');

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

