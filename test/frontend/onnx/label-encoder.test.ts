// ai.onnx.ml LabelEncoder beyond the suite's string-to-int cases: ints to strings, floats with a
// NaN key, and ONNX's defaults for keys that match nothing ("_Unused", -1, -0.0).
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { stringsOf, tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { attr, encodeModelObject, modelObject, node, OnnxType, type AttrInit } from './onnx-builder.js';

function encode(x: TensorData, inType: number, attrs: Record<string, AttrInit>): TensorData {
  const m = modelObject({
    inputs: [{ name: 'X', dims: [x.shape[0]!], type: inType }], outputs: [{ name: 'Y' }],
    nodes: [{ ...node('LabelEncoder', ['X'], ['Y'], attrs), domain: 'ai.onnx.ml' }],
  });
  const g = importOnnx(encodeModelObject({ ...m, opset_import: [{ domain: 'ai.onnx.ml', version: 2 }] }));
  return runOnCpu(g, { X: x })['Y']!;
}

describe('LabelEncoder', () => {
  it('maps ints to strings, unmatched ones to the default', () => {
    const y = encode(tensorData('i32', [4], [3, 7, 3, 9]), OnnxType.INT64, { keys_int64s: attr.ints([3, 7]), values_strings: attr.strings(['three', 'seven']) });
    expect(stringsOf(y)).toEqual(['three', 'seven', 'three', '_Unused']);
  });

  it('maps floats, matching a NaN key, with -0.0 for the rest unless a default is given', () => {
    const x = tensorData('f32', [3], [NaN, 1.5, 2]);
    const y = encode(x, OnnxType.FLOAT, { keys_floats: attr.floats([1.5, NaN]), values_floats: attr.floats([10, 20]) });
    expect(Array.from(y.data as Float32Array)).toEqual([20, 10, -0]);
    expect(Object.is((y.data as Float32Array)[2], -0)).toBe(true);
    const z = encode(x, OnnxType.FLOAT, { keys_floats: attr.floats([1.5]), values_int64s: attr.ints([4]), default_int64: attr.i(7) });
    expect(Array.from(z.data as Int32Array)).toEqual([7, 4, 7]);
  });
});
