// Ops whose results are known at import time: Constant, ConstantOfShape, Range, EyeLike.
import { stringTensor } from '../../../ir/tensor-data.js';
import { numel } from '../../../ir/types.js';
import { typeOf } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { constTensor, constValues, kilnDType, makeConst, readTensor, type ConstTensor } from '../tensor.js';

defineOnnxOp('Constant', (n) => {
  const t = n.attrs.tensor('value');
  if (t) return readTensor(t, undefined, `${n.name}:value`);
  const f = n.attrs.float('value_float');
  if (f !== undefined) return makeConst(`${n.name}:value`, 'f32', [], [f]);
  const fs = n.attrs.floats('value_floats');
  if (fs) return makeConst(`${n.name}:value`, 'f32', [fs.length], fs);
  const i = n.attrs.int('value_int');
  if (i !== undefined) return intConst(n, [], [i]);
  const is = n.attrs.ints('value_ints');
  if (is) return intConst(n, [is.length], is);
  const s = n.attrs.string('value_string');
  if (s !== undefined) return constTensor(`${n.name}:value`, stringTensor([], [s]));
  const ss = n.attrs.strings('value_strings');
  if (ss) return constTensor(`${n.name}:value`, stringTensor([ss.length], ss));
  const other = n.attrs.names().filter((a) => a.startsWith('value') || a === 'sparse_value');
  if (other.length) n.unsupported(`a ${other.join(', ')} constant is not supported`);
  return n.fail('has no value');
});

/** An int64 constant as i32, keeping values past the i32 range exactly (checked when used). */
function intConst(n: OnnxNode, shape: number[], values: number[]): ConstTensor {
  const fits = values.every((v) => v >= -(2 ** 31) && v <= 2 ** 31 - 1);
  const clamped = values.map((v) => Math.min(2 ** 31 - 1, Math.max(-(2 ** 31), v)));
  const c = makeConst(`${n.name}:value`, 'i32', shape, clamped);
  return fits ? c : constTensor(c.name, c.data, Float64Array.from(values));
}

defineOnnxOp('ConstantOfShape', (n) => {
  const shape = n.values(0, 'shape');
  if (shape.some((d) => d < 0 || !Number.isInteger(d))) n.fail(`shape [${shape.join(',')}] is invalid`);
  const t = n.attrs.tensor('value');
  const value = t ? readTensor(t, undefined, `${n.name}:value`) : makeConst('zero', 'f32', [1], [0]);
  if (numel(value.data.shape) !== 1) n.fail('value must hold one element');
  const fill = constValues(value)[0]!;
  return makeConst(`${n.name}:filled`, value.data.dtype, shape, new Array<number>(numel(shape)).fill(fill));
});

defineOnnxOp('Range', (n) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => n.values(i, ['start', 'limit', 'delta'][i]!)[0]!) as [number, number, number];
  if (delta === 0) n.fail('delta is 0');
  const count = Math.max(Math.ceil((limit - start) / delta), 0);
  const dtype = typeOf(n.input(0)).dtype;
  return makeConst(`${n.name}:range`, dtype, [count], Array.from({ length: count }, (_, i) => start + i * delta));
});

// EyeLike: ones on diagonal k of a 2-D shape, known at import since shapes are static.
defineOnnxOp('EyeLike', (n) => {
  const shape = typeOf(n.input(0)).shape;
  if (shape.length !== 2) n.fail(`needs a 2-D input, got rank ${shape.length}`);
  const [rows, cols] = shape as [number, number];
  const k = n.attrs.int('k', 0);
  const to = n.attrs.int('dtype');
  const dtype = to === undefined ? typeOf(n.input(0)).dtype : kilnDType(to, `the dtype of ${n.where}`);
  const values = Array.from({ length: rows * cols }, (_, i) => (i % cols - Math.floor(i / cols) === k ? 1 : 0));
  return makeConst(`${n.name}:eye`, dtype, shape, values);
});
