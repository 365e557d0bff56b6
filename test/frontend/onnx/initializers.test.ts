// Initializers in every encoding ONNX uses: raw_data, the typed fields, external data files;
// dtype lowering (int64 -> i32 with a range check, double -> f32, f16 kept as bits).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importOnnx, importOnnxFile } from '../../../src/frontend/onnx/index.js';
import { KilnError } from '../../../src/ir/errors.js';
import { f32ToF16Bits } from '../../../src/ir/f16.js';
import type { Graph } from '../../../src/ir/graph.js';
import type { TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { buildModel, node, OnnxType, rawBytes, tensor, type Encoding } from './onnx-builder.js';

/** A model whose output is initializer `w` passed through Identity. */
function constModel(w: object, outType: number): Uint8Array {
  return buildModel({ inputs: [], outputs: [{ name: 'out', type: outType }], nodes: [node('Identity', ['w'], ['out'])], initializers: [w] });
}

/** The value of a graph output that import folded to a constant. */
function constOutput(g: Graph): TensorData {
  const producer = g.outputs[0]!.producer!;
  expect(producer.op).toBe('const');
  return producer.attrs.value as TensorData;
}

const bits = (xs: number[]) => xs.map(f32ToF16Bits);
/** bfloat16 bits of values exactly representable in it. */
const bf16 = (xs: number[]) => xs.map((x) => new Uint32Array(new Float32Array([x]).buffer)[0]! >>> 16);

interface TypeCase { type: number; values: number[]; dtype: string; expected: number[]; stored?: number[] }
const TYPES: Record<string, TypeCase> = {
  float: { type: OnnxType.FLOAT, values: [1.5, -2.25, 3e-8], dtype: 'f32', expected: [1.5, -2.25, Math.fround(3e-8)] },
  double: { type: OnnxType.DOUBLE, values: [0.1, -1e10, 2.5], dtype: 'f32', expected: [Math.fround(0.1), Math.fround(-1e10), 2.5] },
  float16: { type: OnnxType.FLOAT16, values: bits([1, -0.5, 65504]), dtype: 'f16', expected: bits([1, -0.5, 65504]) },
  bfloat16: { type: OnnxType.BFLOAT16, values: bf16([1, -3.5, 256]), dtype: 'f32', expected: [1, -3.5, 256] },
  int8: { type: OnnxType.INT8, values: [-128, 5, 127], dtype: 'i32', expected: [-128, 5, 127] },
  uint8: { type: OnnxType.UINT8, values: [0, 200, 255], dtype: 'i32', expected: [0, 200, 255] },
  int16: { type: OnnxType.INT16, values: [-32768, 7, 32767], dtype: 'i32', expected: [-32768, 7, 32767] },
  uint16: { type: OnnxType.UINT16, values: [0, 40000, 65535], dtype: 'i32', expected: [0, 40000, 65535] },
  int32: { type: OnnxType.INT32, values: [-(2 ** 31), 0, 2 ** 31 - 1], dtype: 'i32', expected: [-(2 ** 31), 0, 2 ** 31 - 1] },
  int64: { type: OnnxType.INT64, values: [-(2 ** 31), 42, 2 ** 31 - 1], dtype: 'i32', expected: [-(2 ** 31), 42, 2 ** 31 - 1] },
  uint32: { type: OnnxType.UINT32, values: [0, 3e9, 2 ** 32 - 1], dtype: 'u32', expected: [0, 3e9, 2 ** 32 - 1] },
  uint64: { type: OnnxType.UINT64, values: [0, 7, 2 ** 32 - 1], dtype: 'u32', expected: [0, 7, 2 ** 32 - 1] },
  bool: { type: OnnxType.BOOL, values: [1, 0, 1], dtype: 'bool', expected: [1, 0, 1] },
};

describe('initializer encodings', () => {
  for (const [name, c] of Object.entries(TYPES)) {
    for (const encoding of ['raw', 'typed'] as Encoding[]) {
      it(`${name} in ${encoding === 'raw' ? 'raw_data' : 'its typed field'}`, () => {
        const g = importOnnx(constModel(tensor('w', c.type, [3], c.values, encoding), c.type));
        const t = constOutput(g);
        expect(t.dtype).toBe(c.dtype);
        expect([...t.shape]).toEqual([3]);
        expect(Array.from(t.data as ArrayLike<number>)).toEqual(c.expected);
      });
    }
  }

  it('keeps a 2-D shape and reads a scalar', () => {
    const g = importOnnx(buildModel({
      inputs: [], outputs: [{ name: 'a' }, { name: 'b' }],
      nodes: [node('Identity', ['m'], ['a']), node('Identity', ['s'], ['b'])],
      initializers: [tensor('m', OnnxType.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6], 'typed'), tensor('s', OnnxType.FLOAT, [], [7])],
    }));
    const [m, s] = g.outputs.map((v) => v.producer!.attrs.value as TensorData);
    expect([...m!.shape]).toEqual([2, 3]);
    expect(Array.from(m!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...s!.shape]).toEqual([]);
    expect(Array.from(s!.data)).toEqual([7]);
  });

  it('rejects raw_data of the wrong size and typed fields with the wrong count, naming the tensor', () => {
    const short = { name: 'w', data_type: OnnxType.FLOAT, dims: [4], raw_data: rawBytes(OnnxType.FLOAT, [1, 2, 3]) };
    expect(() => importOnnx(constModel(short, OnnxType.FLOAT))).toThrow(/tensor 'w' has 12 bytes of raw_data but float\[4\] needs 16/);
    const few = tensor('w', OnnxType.INT64, [2, 2], [1, 2, 3], 'typed');
    expect(() => importOnnx(constModel(few, OnnxType.INT64))).toThrow(/tensor 'w' has 3 values in int64_data but int64\[2,2\] needs 4/);
  });

  it('rejects element types kiln cannot compute in', () => {
    const c = { name: 'w', data_type: OnnxType.COMPLEX64, dims: [1], raw_data: new Uint8Array(8) };
    expect(() => importOnnx(constModel(c, OnnxType.COMPLEX64))).toThrow(/tensor 'w' has element type complex64, which kiln does not support/);
  });
});

describe('int64 lowering to i32', () => {
  const big = 2 ** 40;

  it('fails loudly, naming the tensor, when an int64 initializer does not fit i32 and is computed with', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', type: OnnxType.INT64, dims: [2] }], outputs: [{ name: 'out', type: OnnxType.INT64 }],
      nodes: [node('Add', ['x', 'offsets'], ['out'])], initializers: [tensor('offsets', OnnxType.INT64, [2], [1, big])],
    });
    expect(() => importOnnx(bytes)).toThrow(KilnError);
    expect(() => importOnnx(bytes)).toThrow(/int64 tensor 'offsets' holds 1099511627776 \(element 1\), outside the i32 range/);
  });

  it('accepts out-of-range int64 values used as parameters (Slice to INT64_MAX)', () => {
    const ends = { name: 'ends', data_type: OnnxType.INT64, dims: [1], raw_data: new Uint8Array(BigInt64Array.of(9223372036854775807n).buffer) };
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: [5] }], outputs: [{ name: 'out' }],
      nodes: [node('Slice', ['x', 'starts', 'ends'], ['out'])], initializers: [tensor('starts', OnnxType.INT64, [1], [2]), ends],
    });
    const g = importOnnx(bytes);
    expect(g.outputs[0]!.type.shape).toEqual([3]);
  });

  it('computes int64 inputs as i32', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', type: OnnxType.INT64, dims: [3] }], outputs: [{ name: 'out', type: OnnxType.INT64 }],
      nodes: [node('Mul', ['x', 'k'], ['out'])], initializers: [tensor('k', OnnxType.INT64, [], [-3], 'typed')],
    });
    const g = importOnnx(bytes);
    expect(g.inputs[0]!.type.dtype).toBe('i32');
    const out = runOnCpu(g, { x: { dtype: 'i32', shape: [3], data: Int32Array.of(1, -2, 5) } });
    expect(Array.from(out['out']!.data)).toEqual([-3, 6, -15]);
  });
});

describe('external data', () => {
  /** A model with weight `w` [2,3] stored in `weights.bin` at `offset`, added to input x. */
  function externalModel(dir: string, location: string, offset: number, length?: number): string {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const file = new Uint8Array(offset + data.byteLength);
    file.set(new Uint8Array(data.buffer), offset);
    writeFileSync(join(dir, 'weights.bin'), file);
    const w = {
      name: 'w', data_type: OnnxType.FLOAT, dims: [2, 3], data_location: 1,
      external_data: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, ...(length === undefined ? [] : [{ key: 'length', value: String(length) }])],
    };
    const path = join(dir, 'model.onnx');
    writeFileSync(path, buildModel({ inputs: [{ name: 'x', dims: [2, 3] }], outputs: [{ name: 'out' }], nodes: [node('Add', ['x', 'w'], ['out'])], initializers: [w] }));
    return path;
  }

  it('reads a tensor from a file beside the model, at an offset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-onnx-'));
    const g = await importOnnxFile(externalModel(dir, 'weights.bin', 64, 24));
    const w = g.nodes.find((n) => n.op === 'const')!.attrs.value as TensorData;
    expect(Array.from(w.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const out = runOnCpu(g, { x: { dtype: 'f32', shape: [2, 3], data: new Float32Array(6).fill(10) } });
    expect(Array.from(out['out']!.data)).toEqual([11, 12, 13, 14, 15, 16]);
  });

  it('errors clearly when the data file is missing, too short, outside the model folder, or not readable from bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-onnx-'));
    await expect(importOnnxFile(externalModel(dir, 'missing.bin', 0))).rejects.toThrow(/tensor 'w' is stored in '.*missing\.bin', which cannot be read/);
    const path = externalModel(dir, 'weights.bin', 0);
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(10));
    await expect(importOnnxFile(path)).rejects.toThrow(/has 10 bytes, but the tensor's data lies at bytes 0\.\.24 \(is the file truncated\?\)/);
    await expect(importOnnxFile(externalModel(dir, '../weights.bin', 0))).rejects.toThrow(/must be a relative path inside the model's folder/);
    await expect(importOnnxFile(externalModel(dir, '/etc/passwd', 0))).rejects.toThrow(/must be a relative path inside the model's folder/);
    expect(() => importOnnx(readFileSync(externalModel(dir, 'weights.bin', 0)))).toThrow(/stored in the external file 'weights.bin': import the model from its file path/);
  });
});
