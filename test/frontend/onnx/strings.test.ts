// ONNX string tensors: initializers, Constant, graph inputs and outputs, and the ops that carry or
// compare them, imported and run on the CPU reference. The ONNX suite's string cases
// (backend-conformance.test.ts) run the string ops against ONNX's outputs.
import { describe, expect, it } from 'vitest';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { stringsOf, stringTensor, tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { attr, buildModel, node, OnnxType } from './onnx-builder.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const stringInit = (name: string, dims: number[], values: string[]) => ({ name, data_type: OnnxType.STRING, dims, string_data: values.map(utf8) });

function run(bytes: Uint8Array, inputs: Record<string, TensorData> = {}): Record<string, TensorData> {
  return runOnCpu(importOnnx(bytes), inputs);
}

describe('ONNX string tensors', () => {
  it('reads string initializers and Constant value_strings / value_string as UTF-8', () => {
    const bytes = buildModel({
      opset: 20, inputs: [], outputs: [{ name: 'y', type: OnnxType.STRING }, { name: 'z', type: OnnxType.STRING }],
      initializers: [stringInit('w', [2], ['ü€', ''])],
      nodes: [
        node('Constant', [], ['c'], { value_strings: attr.strings(['a', '😀']) }),
        node('Concat', ['w', 'c'], ['y'], { axis: attr.i(0) }),
        node('Constant', [], ['z'], { value_string: attr.s('one') }),
      ],
    });
    const out = run(bytes);
    expect(stringsOf(out['y']!)).toEqual(['ü€', '', 'a', '😀']);
    expect({ shape: out['z']!.shape, values: stringsOf(out['z']!) }).toEqual({ shape: [], values: ['one'] });
  });

  it('carries string inputs through Identity, Reshape and Transpose, and compares them with Equal', () => {
    const bytes = buildModel({
      opset: 20, inputs: [{ name: 'x', type: OnnxType.STRING, dims: [2, 2] }],
      outputs: [{ name: 'id', type: OnnxType.STRING }, { name: 't', type: OnnxType.STRING }, { name: 'eq', type: OnnxType.BOOL }],
      initializers: [stringInit('k', [1], ['b']), { name: 'shape', data_type: OnnxType.INT64, dims: [1], int64_data: [4] }],
      nodes: [
        node('Identity', ['x'], ['id']),
        node('Transpose', ['x'], ['t'], { perm: attr.ints([1, 0]) }),
        node('Reshape', ['x', 'shape'], ['flat']),
        node('Equal', ['flat', 'k'], ['eq']),
      ],
    });
    const out = run(bytes, { x: stringTensor([2, 2], ['a', 'b', 'c', 'b']) });
    expect(stringsOf(out['id']!)).toEqual(['a', 'b', 'c', 'b']);
    expect(stringsOf(out['t']!)).toEqual(['a', 'c', 'b', 'b']);
    expect(Array.from(out['eq']!.data)).toEqual([0, 1, 0, 1]);
  });

  it('casts text to numbers and numbers to text', () => {
    const bytes = buildModel({
      opset: 20, inputs: [{ name: 'x', type: OnnxType.STRING, dims: [3] }],
      outputs: [{ name: 'f', type: OnnxType.FLOAT }, { name: 'i', type: OnnxType.INT64 }, { name: 's', type: OnnxType.STRING }],
      nodes: [
        node('Cast', ['x'], ['f'], { to: attr.i(OnnxType.FLOAT) }),
        node('Cast', ['x'], ['i'], { to: attr.i(OnnxType.INT64) }),
        node('Cast', ['f'], ['s'], { to: attr.i(OnnxType.STRING) }),
      ],
    });
    const out = run(bytes, { x: stringTensor([3], ['1.5', '-inf', '2e3']) });
    expect(Array.from(out['f']!.data)).toEqual([1.5, -Infinity, 2000]);
    expect(Array.from(out['i']!.data)).toEqual([1, -2147483648, 2000]);
    expect(stringsOf(out['s']!)).toEqual(['1.5', '-inf', '2000.0']);
  });

  it('refuses string operands of numeric ops, other locales and RE2-only patterns as unsupported', () => {
    const model = (n: ReturnType<typeof node>, yType: number = OnnxType.STRING) => buildModel({
      opset: 20, inputs: [{ name: 'x', type: OnnxType.STRING, dims: [2] }], outputs: [{ name: 'y', type: yType }], nodes: [n],
    });
    expect(() => importOnnx(model(node('Add', ['x', 'x'], ['y'])))).toThrow(/string tensors are not supported here \(kiln's add takes numbers\)/);
    expect(() => importOnnx(model(node('StringNormalizer', ['x'], ['y'], { locale: attr.s('tr_TR') })))).toThrow(/locale 'tr_TR' is not supported/);
    expect(() => importOnnx(model(node('RegexFullMatch', ['x'], ['y'], { pattern: attr.s('(?<=a)b') }), OnnxType.BOOL))).toThrow(UnsupportedOnnxError);
  });

  it('a feed of numbers for a string input is an error naming both types', () => {
    const bytes = buildModel({ opset: 20, inputs: [{ name: 'x', type: OnnxType.STRING, dims: [1] }], outputs: [{ name: 'x', type: OnnxType.STRING }], nodes: [] });
    expect(() => run(bytes, { x: tensorData('f32', [1], [1]) })).toThrow(/input 'x' expects string\[1\], got f32\[1\]/);
  });
});
