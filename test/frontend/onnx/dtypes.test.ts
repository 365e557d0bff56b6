// ONNX element types narrower than kiln's storage (bfloat16, float8, float4, int4, int2, 8/16-bit
// integers) and the ops of opsets 24 to 28: reading such tensors, casting into them, refusing
// arithmetic kiln cannot emulate, BitCast and Swish. Values worked out by hand from the formats;
// the ONNX suite's cases (backend-conformance.test.ts) check the same against ONNX's outputs.
import { describe, expect, it } from 'vitest';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { KilnError } from '../../../src/ir/errors.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { attr, buildModel, node, OnnxType, type AttrInit } from './onnx-builder.js';

/** The values of output `name` of `model` run on the CPU reference. */
function run(bytes: Uint8Array, inputs: Record<string, TensorData> = {}, name = 'y'): number[] {
  return Array.from(runOnCpu(importOnnx(bytes), inputs)[name]!.data as ArrayLike<number>);
}

/** A one-node model `op(x) -> y` with typed input and output. */
function oneNode(op: string, xType: number, yType: number, attrs: Record<string, AttrInit> = {}, opset = 25, dims = [4]): Uint8Array {
  return buildModel({ opset, inputs: [{ name: 'x', type: xType, dims }], outputs: [{ name: 'y', type: yType }], nodes: [node(op, ['x'], ['y'], attrs)] });
}

/** A model returning initializer `w` (ONNX type `type`, raw bytes `raw`) through Identity. */
function initializer(type: number, dims: number[], raw: number[]): Uint8Array {
  const w = { name: 'w', data_type: type, dims, raw_data: Uint8Array.from(raw) };
  return buildModel({ opset: 25, inputs: [], outputs: [{ name: 'y', type }], nodes: [node('Identity', ['w'], ['y'])], initializers: [w] });
}

const f32 = (values: number[]) => tensorData('f32', [values.length], values);

describe('narrow ONNX types', () => {
  it('reads float8, int4 (two a byte, low nibble first), uint2 and float8e8m0 tensors as their values', () => {
    const nan = (xs: number[]) => xs.map((x) => (Number.isNaN(x) ? 'NaN' : x));
    expect(nan(run(initializer(OnnxType.FLOAT8E4M3FN, [5], [0x7e, 0xfe, 0x7f, 0x01, 0x38])))).toEqual([448, -448, 'NaN', 2 ** -9, 1]);
    expect(nan(run(initializer(OnnxType.FLOAT8E5M2FNUZ, [2], [0x80, 0x40])))).toEqual(['NaN', 1]);
    expect(run(initializer(OnnxType.INT4, [3], [0x87, 0x0f]))).toEqual([7, -8, -1]);
    expect(run(initializer(OnnxType.UINT2, [4], [0xe4]))).toEqual([0, 1, 2, 3]);
    expect(nan(run(initializer(OnnxType.FLOAT8E8M0, [3], [0x7f, 0x00, 0xff])))).toEqual([1, 2 ** -127, 'NaN']);
    expect(() => importOnnx(initializer(OnnxType.INT4, [3], [0x87]))).toThrow(/1 bytes of raw_data but int4\[3\] needs 2/);
  });

  it('Cast wraps into 8-bit and 4-bit integers and rounds into bfloat16 and float8 (saturate)', () => {
    const x = { x: f32([200.7, -129, 300, -9]) };
    expect(run(oneNode('Cast', OnnxType.FLOAT, OnnxType.INT8, { to: attr.i(OnnxType.INT8) }), x)).toEqual([-56, 127, 44, -9]);
    expect(run(oneNode('Cast', OnnxType.FLOAT, OnnxType.UINT8, { to: attr.i(OnnxType.UINT8) }), x)).toEqual([200, 127, 44, 247]);
    expect(run(oneNode('Cast', OnnxType.FLOAT, OnnxType.INT4, { to: attr.i(OnnxType.INT4) }), x)).toEqual([-8, -1, -4, 7]);
    const y = { x: f32([1 + 2 ** -8, 1 + 3 * 2 ** -8, 500, -1e6]) };
    expect(run(oneNode('Cast', OnnxType.FLOAT, OnnxType.BFLOAT16, { to: attr.i(OnnxType.BFLOAT16) }), y)).toEqual([1, 1 + 2 ** -6, 500, -999424]);
    expect(run(oneNode('Cast', OnnxType.FLOAT, OnnxType.FLOAT8E4M3FN, { to: attr.i(OnnxType.FLOAT8E4M3FN) }), y)).toEqual([1, 1, 448, -448]);
    const unsaturated = run(oneNode('Cast', OnnxType.FLOAT, OnnxType.FLOAT8E5M2, { to: attr.i(OnnxType.FLOAT8E5M2), saturate: attr.i(0) }), y);
    expect(unsaturated).toEqual([1, 1, 512, -Infinity]);
  });

  it('refuses casts between strings and bool or double text, and arithmetic on float8 and 4-bit values', () => {
    expect(() => importOnnx(oneNode('Cast', OnnxType.BOOL, OnnxType.STRING, { to: attr.i(OnnxType.STRING) }))).toThrow(UnsupportedOnnxError);
    expect(() => importOnnx(oneNode('Cast', OnnxType.DOUBLE, OnnxType.STRING, { to: attr.i(OnnxType.STRING) }))).toThrow(/casts between string and double are not supported/);
    const add = buildModel({
      opset: 25, inputs: [{ name: 'a', type: OnnxType.FLOAT8E4M3FN, dims: [2] }, { name: 'b', type: OnnxType.FLOAT8E4M3FN, dims: [2] }],
      outputs: [{ name: 'y', type: OnnxType.FLOAT8E4M3FN }], nodes: [node('Add', ['a', 'b'], ['y'])],
    });
    expect(() => importOnnx(add)).toThrow(/computes on float8e4m3fn values, which kiln only stores/);
    // Moving such values is exact: Reshape carries them.
    const reshape = buildModel({
      opset: 25, inputs: [{ name: 'a', type: OnnxType.INT4, dims: [2, 2] }], outputs: [{ name: 'y', type: OnnxType.INT4 }],
      nodes: [node('Flatten', ['a'], ['y'], { axis: attr.i(0) })],
    });
    expect(run(reshape, { a: tensorData('i32', [2, 2], [1, -2, 3, -4]) })).toEqual([1, -2, 3, -4]);
  });

  it('computes bfloat16 in f32 and rounds each ONNX node\'s result (Celu of opset 28)', () => {
    const bytes = oneNode('Celu', OnnxType.BFLOAT16, OnnxType.BFLOAT16, { alpha: attr.f(2) }, 28);
    // celu(-1) = 2 (exp(-0.5) - 1) = -0.786938..., which bfloat16 rounds to -0.78515625.
    expect(run(bytes, { x: f32([-1, 1.5, 0, 3]) })).toEqual([-0.78515625, 1.5, 0, 3]);
    expect(importOnnx(bytes).outputs.map((v) => v.name)).toEqual(['y']);
  });
});

describe('ops of opsets 24 to 28', () => {
  it('accepts opset 28 and refuses later ones', () => {
    expect(run(oneNode('Relu', OnnxType.FLOAT, OnnxType.FLOAT, {}, 28), { x: f32([-1, 2, -3, 4]) })).toEqual([0, 2, 0, 4]);
    expect(() => importOnnx(oneNode('Relu', OnnxType.FLOAT, OnnxType.FLOAT, {}, 29))).toThrow(/kiln imports opsets 1 to 28/);
  });

  it('Swish is x * sigmoid(alpha x), and exists from opset 24 on', () => {
    const xs = [-2, -0.5, 0, 3];
    const got = run(oneNode('Swish', OnnxType.FLOAT, OnnxType.FLOAT, { alpha: attr.f(0.5) }, 24), { x: f32(xs) });
    got.forEach((g, i) => expect(g).toBeCloseTo(xs[i]! / (1 + Math.exp(-0.5 * xs[i]!)), 6));
    const e = (() => { try { importOnnx(oneNode('Swish', OnnxType.FLOAT, OnnxType.FLOAT, {}, 23)); } catch (err) { return err as Error; } })();
    expect(e).toBeInstanceOf(KilnError);
    expect(e?.message).toMatch(/Swish exists from opset 24 on, but the model imports opset 23/);
  });

  it('BitCast reads the same bits: float <-> int32 and narrow integers of one width; double is refused', () => {
    expect(run(oneNode('BitCast', OnnxType.FLOAT, OnnxType.INT32, { to: attr.i(OnnxType.INT32) }, 26), { x: f32([1, -2, 0, 0.5]) }))
      .toEqual([0x3f800000, -0x40000000, 0, 0x3f000000]);
    const u8 = run(oneNode('BitCast', OnnxType.INT8, OnnxType.UINT8, { to: attr.i(OnnxType.UINT8) }, 26), { x: tensorData('i32', [4], [-1, -128, 5, 0]) });
    expect(u8).toEqual([255, 128, 5, 0]);
    expect(() => importOnnx(oneNode('BitCast', OnnxType.DOUBLE, OnnxType.INT64, { to: attr.i(OnnxType.INT64) }, 26))).toThrow(UnsupportedOnnxError);
    expect(() => importOnnx(oneNode('BitCast', OnnxType.FLOAT, OnnxType.INT16, { to: attr.i(OnnxType.INT16) }, 26))).toThrow(/one width/);
  });
});
