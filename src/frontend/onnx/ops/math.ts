// Trigonometric and hyperbolic functions, rounding, Mod, and the NaN and infinity tests: one kiln
// op each.
import { isFloat } from '../../../ir/types.js';
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';

const UNARY: Record<string, string> = {
  Sin: 'sin', Cos: 'cos', Tan: 'tan', Asin: 'asin', Acos: 'acos', Atan: 'atan',
  Sinh: 'sinh', Cosh: 'cosh', Asinh: 'asinh', Acosh: 'acosh', Atanh: 'atanh',
  IsNaN: 'is_nan',
};
for (const [onnx, kiln] of Object.entries(UNARY)) {
  defineOnnxOp(onnx, (n) => n.b.op(kiln, [n.input(0)]));
}

// Floor, Ceil and Round of an integer (shape arithmetic on int64 in older exporters) change nothing.
for (const [onnx, kiln] of [['Floor', 'floor'], ['Ceil', 'ceil'], ['Round', 'round']] as const) {
  defineOnnxOp(onnx, (n) => (isFloat(typeOf(n.input(0)).dtype) ? n.b.op(kiln, [n.input(0)]) : n.input(0)));
}

defineOnnxOp('IsInf', (n) => n.b.op('is_inf', [n.input(0)], {
  detect_positive: n.attrs.int('detect_positive', 1) !== 0,
  detect_negative: n.attrs.int('detect_negative', 1) !== 0,
}));

// fmod=0 is the remainder with the divisor's sign, fmod=1 C's fmod (the dividend's sign). ONNX
// requires fmod=1 for floats; kiln computes fmod=0 on floats as the reference does (NumPy's mod).
defineOnnxOp('Mod', (n) => n.b.op(n.attrs.int('fmod', 0) !== 0 ? 'fmod' : 'mod', [n.input(0), n.input(1)]));
