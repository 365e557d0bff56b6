// ONNX Runtime's quantized contrib ops (com.microsoft): the QLinear ops of models its static
// quantizer writes in the QOperator format, and the matmuls its optimizer fuses from dynamic
// quantization. Each dequantizes its inputs ((x - zero point) * scale, in f32), computes the float
// op, and requantizes (round half to even, saturate) as QuantizeLinear does.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, onnxMapper, type OnnxNode } from '../node.js';
import { OnnxType } from '../onnx-types.js';
import { ms } from './contrib.js';
import { castTo, reshapeTo } from './helpers.js';
import { f32, quantizeTo } from './quantize.js';
import { integerMatMul } from './integer-matmul.js';

/** A per-tensor scale or zero point ([] or [1]) as a scalar. */
const scalar = (n: OnnxNode, p: Operand): Operand => reshapeTo(n.b, p, []);

/** Input i dequantized with the scale at `scaleAt` and the optional zero point at `zpAt`. */
function dequant(n: OnnxNode, i: number, scaleAt = i + 1, zpAt = i + 2): Operand {
  const zp = n.optional(zpAt);
  const x = zp ? n.b.op('sub', [f32(n, n.input(i)), f32(n, scalar(n, zp))]) : f32(n, n.input(i));
  return n.b.op('mul', [x, f32(n, scalar(n, n.input(scaleAt)))]);
}

/** v quantized with the scale at `scaleAt` and zero point at `scaleAt + 1`, to that zero point's type (else input `like`'s). */
function requant(n: OnnxNode, v: Operand, scaleAt: number, like: number): Operand {
  const zp = n.optional(scaleAt + 1);
  const t = (zp ? n.inputType(scaleAt + 1) : undefined) ?? n.inputType(like) ?? OnnxType.UINT8;
  return quantizeTo(n, n.b.op('div', [v, f32(n, scalar(n, n.input(scaleAt)))]), zp && scalar(n, zp), t, true);
}

/** A QLinear op of one input laid out X, X_scale, X_zero_point, Y_scale, Y_zero_point. */
function unary(op: string, fn: (n: OnnxNode, x: Operand) => Operand): void {
  defineOnnxOp(ms(op), (n) => requant(n, fn(n, dequant(n, 0)), 3, 0));
}

for (const [op, kiln] of [['QLinearAdd', 'add'], ['QLinearMul', 'mul']] as const) {
  defineOnnxOp(ms(op), (n) => requant(n, n.b.op(kiln, [dequant(n, 0), dequant(n, 3)]), 6, 0));
}
unary('QLinearSigmoid', (n, x) => n.b.op('sigmoid', [x]));
unary('QLinearLeakyRelu', (n, x) => n.b.op('leaky_relu', [x], { alpha: n.attrs.float('alpha', 0.01) }));
unary('QLinearSoftmax', (n, x) => onnxMapper('Softmax')!(n.atOpset(n.attrs.int('opset', 13)).withInputs([x])) as Operand);
unary('QLinearGlobalAveragePool', (n, x) => {
  if (n.attrs.int('channels_last', 0) === 0) return n.b.op('global_avg_pool', [x]);
  const rank = typeOf(x).shape.length;
  return n.b.op('mean', [x], { axes: Array.from({ length: rank - 2 }, (_, i) => i + 1), keepdims: true });
});
unary('QLinearAveragePool', (n, x) => {
  if (n.attrs.int('channels_last', 0) !== 0) n.unsupported('channels_last=1 is not supported');
  return onnxMapper('AveragePool')!(n.withInputs([x])) as Operand;
});

// Y_scale, Y_zero_point, then each input as X, X_scale, X_zero_point.
defineOnnxOp(ms('QLinearConcat'), (n) => {
  const count = (n.inputs.length - 2) / 3;
  if (!Number.isInteger(count) || count < 1) n.fail(`takes Y_scale, Y_zero_point and triples of inputs, got ${n.inputs.length} inputs`);
  const parts = Array.from({ length: count }, (_, k) => dequant(n, 2 + 3 * k));
  return requant(n, n.b.op('concat', parts, { axis: n.attrs.int('axis', 0) }), 0, 2);
});

/** An f32 product scaled per column by b's scale (scalar or [N]) and by a's scalar scale, plus the bias. */
function scaledProduct(n: OnnxNode, product: Operand, aScale: Operand, bScale: Operand, bias: Operand | undefined): Operand {
  const y = n.b.op('mul', [n.b.op('mul', [f32(n, product), f32(n, scalar(n, aScale))]), f32(n, typeOf(bScale).shape.reduce((p, d) => p * d, 1) === 1 ? scalar(n, bScale) : bScale)]);
  return bias ? n.b.op('add', [y, f32(n, bias)]) : y;
}

// A [M, K] f32, quantized to uint8 per tensor as DynamicQuantizeLinear does, times the integer B.
defineOnnxOp(ms('DynamicQuantizeMatMul'), (n) => {
  const [aq, aScale, aZero] = onnxMapper('DynamicQuantizeLinear')!(n.withInputs([n.input(0)])) as Operand[];
  return scaledProduct(n, integerMatMul(n, aq!, aZero, OnnxType.UINT8, n.input(1), n.optional(3), n.inputType(1)), aScale!, n.input(2), n.optional(4));
});

// (A - a_zero_point) (B - b_zero_point) * a_scale * b_scale + bias, in f32.
defineOnnxOp(ms('MatMulIntegerToFloat'), (n) => scaledProduct(n, integerMatMul(n, n.input(0), n.optional(4), n.inputType(0), n.input(1), n.optional(5), n.inputType(1)), n.input(2), n.input(3), n.optional(6)));

// QGemm: alpha * a_scale * b_scale * ((A - a_zero_point)(B - b_zero_point) + C), C an int32 bias
// at that scale; quantized with y_scale and y_zero_point when given, else f32. B's scale and
// zero point may be per column.
defineOnnxOp(ms('QGemm'), (n) => {
  const transposed = (x: Operand, attr: string) => (n.attrs.int(attr, 0) !== 0 ? n.b.op('transpose', [x], { perm: [1, 0] }) : x);
  let product = integerMatMul(n, transposed(n.input(0), 'transA'), n.optional(2), n.inputType(0), transposed(n.input(3), 'transB'), n.optional(5), n.inputType(3));
  const c = n.optional(6);
  if (c) product = n.b.op('add', [product, castTo(n.b, c, typeOf(product).dtype)]);
  const alpha = n.attrs.float('alpha', 1);
  const y = scaledProduct(n, product, n.input(1), n.input(4), undefined);
  const scaled = alpha === 1 ? y : n.b.op('mul', [y, n.b.scalar('f32', alpha)]);
  return n.optional(7) ? requant(n, scaled, 7, 0) : scaled;
});
