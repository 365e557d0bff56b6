// ONNX math ops (trigonometric, Mod, bitwise, BitShift, IsNaN/IsInf, ReduceProd, EyeLike, Det)
// against ONNX Runtime, over every integer type kiln stores in i32 or u32: imported, run on kiln's
// CPU reference, compared. (Their GPU kernels are checked against the CPU in codegen/math-ops.)
import { describe, expect, it } from 'vitest';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import type { DType } from '../../../src/ir/types.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { attr, buildModel, node, OnnxType as T, type AttrInit } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';

/** kiln's storage of each ONNX type used here, and the range its values are drawn from. */
const TYPES: Record<number, { dtype: DType; lo: number; hi: number; name: string }> = {
  [T.INT8]: { dtype: 'i32', lo: -128, hi: 127, name: 'int8' },
  [T.UINT8]: { dtype: 'i32', lo: 0, hi: 255, name: 'uint8' },
  [T.INT16]: { dtype: 'i32', lo: -32768, hi: 32767, name: 'int16' },
  [T.UINT16]: { dtype: 'i32', lo: 0, hi: 65535, name: 'uint16' },
  [T.INT32]: { dtype: 'i32', lo: -(2 ** 31), hi: 2 ** 31 - 1, name: 'int32' },
  [T.INT64]: { dtype: 'i32', lo: -(2 ** 31), hi: 2 ** 31 - 1, name: 'int64' },
  [T.UINT32]: { dtype: 'u32', lo: 0, hi: 2 ** 32 - 1, name: 'uint32' },
  [T.UINT64]: { dtype: 'u32', lo: 0, hi: 2 ** 32 - 1, name: 'uint64' },
};

interface OneOp {
  op: string;
  types: number[];
  outType?: number;
  attrs?: Record<string, AttrInit>;
  opset?: number;
  inputs: TensorData[];
  dims?: number[][];
}

/** One node over inputs x, y of the given ONNX types, compared with ONNX Runtime on `inputs`. */
async function check(c: OneOp) {
  const names = ['x', 'y'].slice(0, c.types.length);
  const dims = c.dims ?? c.inputs.map((t) => [...t.shape]);
  const bytes = buildModel({
    opset: c.opset ?? 18,
    inputs: names.map((name, i) => ({ name, type: c.types[i]!, dims: dims[i]! })),
    outputs: [{ name: 'out', type: c.outType ?? c.types[0]! }],
    nodes: [node(c.op, names, ['out'], c.attrs ?? {})],
  });
  await expectSameAsOrt(bytes, {
    onnxTypes: Object.fromEntries(names.map((n, i) => [n, c.types[i]!])),
    inputs: Object.fromEntries(names.map((n, i) => [n, c.inputs[i]!])),
  });
}

const rng = new Random(3);
function ints(type: number, n: number, lo?: number, hi?: number): TensorData {
  const t = TYPES[type]!;
  return tensorData(t.dtype, [n], Array.from({ length: n }, () => Math.floor(rng.uniform(lo ?? t.lo, (hi ?? t.hi) + 1))));
}
const floats = (values: number[], dtype: DType = 'f32') => tensorData(dtype, [values.length], values);

describe('trigonometric and hyperbolic ops', () => {
  const xs = floats(Array.from({ length: 64 }, () => 3 * rng.normal()));
  for (const op of ['Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh']) {
    it(`${op} (NaN outside the domain as ONNX Runtime)`, () => check({ op, types: [T.FLOAT], inputs: [xs], opset: 9 }));
  }
});

describe('Mod', () => {
  for (const [type, t] of Object.entries(TYPES).map(([k, v]) => [Number(k), v] as const)) {
    for (const fmod of [0, 1]) {
      it(`${t.name}, fmod=${fmod}`, () => {
        const divisors = ints(type, 200, t.lo < 0 ? -60 : 1, 60);
        (divisors.data as Int32Array | Uint32Array).forEach((d, i, a) => { if (d === 0) a[i] = 7; });
        return check({ op: 'Mod', types: [type, type], attrs: { fmod: attr.i(fmod) }, inputs: [ints(type, 200), divisors], opset: 13 });
      });
    }
  }
  it('float and double with fmod=1, broadcasting', () => check({
    op: 'Mod', types: [T.FLOAT, T.FLOAT], attrs: { fmod: attr.i(1) }, opset: 13,
    inputs: [tensorData('f32', [3, 4], Array.from({ length: 12 }, () => 1e4 * rng.normal())), floats([2.5, -0.3, 7, -11])],
  }));
});

describe('bitwise ops and BitShift', () => {
  for (const [type, t] of Object.entries(TYPES).map(([k, v]) => [Number(k), v] as const)) {
    it(`BitwiseAnd, Or, Xor on ${t.name}`, async () => {
      for (const op of ['BitwiseAnd', 'BitwiseOr', 'BitwiseXor']) await check({ op, types: [type, type], inputs: [ints(type, 100), ints(type, 100)] });
    });
    if (type !== T.UINT64) it(`BitwiseNot on ${t.name}`, () => check({ op: 'BitwiseNot', types: [type], inputs: [ints(type, 100)] }));
  }
  it('BitwiseNot of uint64 is refused: its complement does not fit the u32 kiln stores it in', () => {
    const bytes = buildModel({ opset: 18, inputs: [{ name: 'x', type: T.UINT64, dims: [3] }], outputs: [{ name: 'out', type: T.UINT64 }], nodes: [node('BitwiseNot', ['x'], ['out'])] });
    expect(() => importOnnx(bytes)).toThrow(UnsupportedOnnxError);
  });
  // ONNX Runtime has no uint16 BitShift (the conformance suite's uint16 cases cover it).
  for (const type of [T.UINT8, T.UINT32, T.UINT64]) {
    const bits = { [T.UINT8]: 8, [T.UINT32]: 32, [T.UINT64]: 32 }[type]!;
    for (const direction of ['LEFT', 'RIGHT']) {
      it(`BitShift ${direction} on ${TYPES[type]!.name}, shifting bits out of the type`, () => check({
        op: 'BitShift', types: [type, type], attrs: { direction: attr.s(direction) }, opset: 11,
        // uint64 left shifts stay below 2^32 (kiln stores uint64 in u32).
        inputs: [ints(type, 100, 0, type === T.UINT64 && direction === 'LEFT' ? 255 : undefined), ints(type, 100, 0, type === T.UINT64 && direction === 'LEFT' ? 24 : bits - 1)],
      }));
    }
  }
  it('BitShift LEFT of a Cast to uint8 masks to 8 bits: the Cast implies the type the model does not declare', () => {
    const bytes = buildModel({
      opset: 18, inputs: [{ name: 'x', type: T.FLOAT, dims: [3] }, { name: 's', type: T.UINT8, dims: [3] }], outputs: [{ name: 'out', type: T.UINT8 }],
      nodes: [node('Cast', ['x'], ['u'], { to: attr.i(T.UINT8) }), node('BitShift', ['u', 's'], ['v'], { direction: attr.s('LEFT') }), node('Identity', ['v'], ['out'])],
    });
    const g = importOnnx(bytes);
    const out = runOnCpu(g, { x: tensorData('f32', [3], [1, 200, 3]), s: tensorData('i32', [3], [1, 1, 7]) });
    expect(Array.from(out[g.outputs[0]!.name]!.data)).toEqual([2, 144, 128]);
  });
});

describe('IsNaN, IsInf, ReduceProd, EyeLike, Det', () => {
  const specials = floats([-1.2, NaN, Infinity, 2.8, -Infinity, Infinity, 0]);
  it('IsNaN and IsInf (detect_positive / detect_negative)', async () => {
    await check({ op: 'IsNaN', types: [T.FLOAT], outType: T.BOOL, inputs: [specials] });
    for (const [p, n] of [[1, 1], [0, 1], [1, 0]]) {
      await check({ op: 'IsInf', types: [T.FLOAT], outType: T.BOOL, inputs: [specials], attrs: { detect_positive: attr.i(p!), detect_negative: attr.i(n!) } });
    }
  });
  it('ReduceProd with axes as an attribute (opset 13) and over everything', async () => {
    const x = tensorData('f32', [3, 4, 5], Array.from({ length: 60 }, () => 1 + 0.3 * rng.normal()));
    await check({ op: 'ReduceProd', types: [T.FLOAT], inputs: [x], opset: 13, attrs: { axes: attr.ints([-1]), keepdims: attr.i(0) } });
    await check({ op: 'ReduceProd', types: [T.FLOAT], inputs: [x], opset: 13 });
    await check({ op: 'ReduceProd', types: [T.INT32], inputs: [tensorData('i32', [4, 6], Array.from({ length: 24 }, () => Math.floor(rng.uniform(-40, 40))))], opset: 13, attrs: { axes: attr.ints([1]) } });
  });
  it('EyeLike: diagonals k above and below, another dtype', async () => {
    const x = tensorData('f32', [4, 6], new Array<number>(24).fill(0));
    for (const k of [-2, 0, 3, 7]) await check({ op: 'EyeLike', types: [T.FLOAT], inputs: [x], attrs: { k: attr.i(k) } });
    await check({ op: 'EyeLike', types: [T.FLOAT], outType: T.INT32, inputs: [x], attrs: { dtype: attr.i(T.INT32) } });
  });
  it('Det of a batch of 4x4 matrices', () => check({
    op: 'Det', types: [T.FLOAT], inputs: [tensorData('f32', [2, 3, 4, 4], Array.from({ length: 96 }, () => rng.normal()))],
  }));
});

describe('random generators', () => {
  it('are refused with the reason: no runtime\'s random stream can be reproduced', () => {
    for (const op of ['Bernoulli', 'RandomUniformLike', 'RandomNormalLike']) {
      const bytes = buildModel({ opset: 18, inputs: [{ name: 'x', type: T.FLOAT, dims: [4] }], outputs: [{ name: 'out', type: T.FLOAT }], nodes: [node(op, ['x'], ['out'])] });
      expect(() => importOnnx(bytes)).toThrow(UnsupportedOnnxError);
      expect(() => importOnnx(bytes)).toThrow(/draws random numbers/);
    }
  });
});
