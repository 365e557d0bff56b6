// ONNX quantization ops against ONNX Runtime: QuantizeLinear / DequantizeLinear (per tensor, per
// axis), DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv; every
// operand fed at run time, imported, run on kiln's CPU reference, compared exactly.
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { attr, buildModel, node, OnnxType as T, tensor, type AttrInit } from './onnx-builder.js';
import { expectSameAsOrt, runOrt } from './ort-oracle.js';
import { channelRanges, evenRanges } from '../../../src/frontend/onnx/ops/exact-sums.js';
import { compile } from '../../../src/compiler.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';

interface Operand { name: string; type: number; value: TensorData }

/** One node over the given operands (all graph inputs), compared with ONNX Runtime. */
async function check(op: string, operands: (Operand | '')[], outputs: { name: string; type: number }[], attrs: Record<string, AttrInit> = {}, opset = 13) {
  const present = operands.filter((o): o is Operand => o !== '');
  const bytes = buildModel({
    opset,
    inputs: present.map((o) => ({ name: o.name, type: o.type, dims: [...o.value.shape] })),
    outputs,
    nodes: [node(op, operands.map((o) => (o === '' ? '' : o.name)), outputs.map((o) => o.name), attrs)],
  });
  await expectSameAsOrt(bytes, {
    onnxTypes: Object.fromEntries(present.map((o) => [o.name, o.type])),
    inputs: Object.fromEntries(present.map((o) => [o.name, o.value])),
    tol: 0,
  });
}

const rng = new Random(5);
const RANGE: Record<number, [number, number]> = { [T.UINT8]: [0, 255], [T.INT8]: [-128, 127], [T.INT32]: [-5000, 5000] };
const ints = (name: string, type: number, shape: number[], lo = RANGE[type]![0], hi = RANGE[type]![1]): Operand => ({
  name, type, value: tensorData('i32', shape, Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => Math.floor(rng.uniform(lo, hi + 1)))),
});
const floats = (name: string, shape: number[], values?: number[]): Operand => ({
  name, type: T.FLOAT, value: tensorData('f32', shape, values ?? Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.normal())),
});

describe('QuantizeLinear and DequantizeLinear', () => {
  // Halves round to even; values past the range saturate.
  const x = floats('x', [12], [-300, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.49, 100.7, 127.5, 200, 1e9]);
  for (const [type, zp] of [[T.UINT8, 128], [T.INT8, -3]] as const) {
    it(`quantizes to ${type === T.UINT8 ? 'uint8' : 'int8'} per tensor`, () =>
      check('QuantizeLinear', [x, floats('s', [], [0.5]), { name: 'z', type, value: tensorData('i32', [], [zp]) }], [{ name: 'y', type }]));
  }
  it('quantizes per axis (axis 1 of [2, 3, 4])', () =>
    check('QuantizeLinear', [floats('x', [2, 3, 4], Array.from({ length: 24 }, () => 40 * rng.normal())),
      floats('s', [3], [0.25, 1, 3]), ints('z', T.INT8, [3], -10, 10)], [{ name: 'y', type: T.INT8 }], { axis: attr.i(1) }));
  it('dequantizes uint8 per tensor and int8 per axis', async () => {
    await check('DequantizeLinear', [ints('x', T.UINT8, [20]), floats('s', [], [0.1]), ints('z', T.UINT8, [], 100, 100)], [{ name: 'y', type: T.FLOAT }]);
    await check('DequantizeLinear', [ints('x', T.INT8, [3, 4]), floats('s', [4], [0.5, 2, 0.125, 3]), ints('z', T.INT8, [4], -5, 5)],
      [{ name: 'y', type: T.FLOAT }], { axis: attr.i(-1) });
  });
});

describe('DynamicQuantizeLinear', () => {
  for (const [what, values] of [['mixed signs', undefined], ['all positive (min adjusted to 0)', [0.5, 1, 7, 3.25, 9]], ['all negative', [-0.5, -1, -7, -3.25]]] as const) {
    it(what, () => check('DynamicQuantizeLinear', [floats('x', [values?.length ?? 30], values ? [...values] : undefined)],
      [{ name: 'y', type: T.UINT8 }, { name: 'y_scale', type: T.FLOAT }, { name: 'y_zero_point', type: T.UINT8 }], {}, 11));
  }
});

describe('integer matmul', () => {
  it('MatMulInteger uint8 x int8 with per-tensor zero points, batched', () =>
    check('MatMulInteger', [ints('a', T.UINT8, [2, 3, 5]), ints('b', T.INT8, [5, 4]), ints('az', T.UINT8, []), ints('bz', T.INT8, [])], [{ name: 'y', type: T.INT32 }], {}, 10));
  it('MatMulInteger without zero points', () =>
    check('MatMulInteger', [ints('a', T.UINT8, [4, 6]), ints('b', T.UINT8, [6, 3])], [{ name: 'y', type: T.INT32 }], {}, 10));
  for (const type of [T.UINT8, T.INT8]) {
    it(`QLinearMatMul ${type === T.UINT8 ? 'uint8' : 'int8'} requantizes`, () =>
      check('QLinearMatMul', [
        ints('a', type, [3, 8]), floats('as', [], [0.02]), ints('az', type, []),
        ints('b', type, [8, 5]), floats('bs', [], [0.03]), ints('bz', type, []),
        floats('ys', [], [0.7]), ints('yz', type, []),
      ], [{ name: 'y', type }], {}, 10));
  }
});

// 3 x 3 over 64 uint8 channels: sums reach 576 x 255 x 255 (past 2^24, where f32 stops holding
// every integer). Values near the range's ends make the sums that large (and odd).
const wide = () => ({
  x: ints('x', T.UINT8, [1, 64, 5, 5], 240, 255), w: ints('w', T.UINT8, [4, 64, 3, 3], 0, 15),
  xz: ints('xz', T.UINT8, [], 0, 0), wz: ints('wz', T.UINT8, [], 250, 255),
});
describe('integer conv', () => {
  it('ConvInteger uint8 with padding and strides', () =>
    check('ConvInteger', [ints('x', T.UINT8, [1, 2, 5, 5]), ints('w', T.UINT8, [3, 2, 3, 3]), ints('xz', T.UINT8, [])],
      [{ name: 'y', type: T.INT32 }], { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 1]) }, 10));
  it('QLinearConv uint8 with int32 bias', () =>
    check('QLinearConv', [
      ints('x', T.UINT8, [1, 2, 4, 4]), floats('xs', [], [0.05]), ints('xz', T.UINT8, []),
      ints('w', T.UINT8, [2, 2, 2, 2]), floats('ws', [], [0.01]), ints('wz', T.UINT8, []),
      floats('ys', [], [0.3]), ints('yz', T.UINT8, []), ints('bias', T.INT32, [2]),
    ], [{ name: 'y', type: T.UINT8 }], { pads: attr.ints([0, 1, 0, 1]) }, 10));
  it('QLinearConv int8 weights with per-channel scales, 1-D, no bias', () =>
    check('QLinearConv', [
      ints('x', T.UINT8, [2, 3, 7]), floats('xs', [], [0.04]), ints('xz', T.UINT8, []),
      ints('w', T.INT8, [4, 3, 3]), floats('ws', [4], [0.01, 0.02, 0.005, 0.03]), ints('wz', T.INT8, [4], 0, 0),
      floats('ys', [], [0.5]), ints('yz', T.UINT8, []),
    ], [{ name: 'y', type: T.UINT8 }], { pads: attr.ints([1, 1]) }, 10));
  it('ConvInteger whose sums pass 2^24 splits its weight into digits, each digit\'s conv exact in f32: equal to ONNX Runtime', () => {
    const { x, w, xz, wz } = wide();
    return check('ConvInteger', [x, w, xz, wz], [{ name: 'y', type: T.INT32 }], { pads: attr.ints([1, 1, 1, 1]) }, 10);
  });
  it('splits a constant weight into as few ranges of input channels as keep each output\'s sum of |w| x the activations\' range below 2^24', () => {
    // Output 0 reaches the bound with the third channel, output 1 (negative weights) with the fifth.
    const xBound = Math.floor((2 ** 24 - 1) / 200);
    expect(channelRanges([100, 100, 100, 0, 0, 50, 50, -50, -100, -100], 2, 5, xBound)).toEqual([[0, 2], [2, 4], [4, 5]]);
    expect(channelRanges([100, 100, 50], 1, 3, xBound)).toEqual([[0, 2], [2, 3]]);
    expect(channelRanges([1, 2, 3], 1, 3, 1)).toEqual([[0, 3]]);
    expect(channelRanges([1, 2 ** 24], 1, 2, 1)).toBeUndefined();
  });
  it('refuses an integer conv whose sums pass 2^24 even over 1-bit weight digits', () => {
    const bytes = buildModel({
      opset: 10,
      inputs: [{ name: 'x', type: T.UINT8, dims: [1, 7400, 3, 3] }, { name: 'w', type: T.UINT8, dims: [1, 7400, 3, 3] }],
      outputs: [{ name: 'y', type: T.INT32 }],
      nodes: [node('ConvInteger', ['x', 'w'], ['y'])],
    });
    expect(() => importOnnx(bytes)).toThrow(/summing 66600 products per output is not supported/);
  });
});

describe('integer conv on the adapter', () => {
  const gpu = useGpu();
  /** ConvInteger over input x with a constant weight (and its zero point), imported, run on the adapter, against ONNX Runtime exactly. */
  async function constantWeightConv(x: Operand, w: Operand, wz: Operand, group = 1) {
    const bytes = buildModel({
      opset: 10,
      inputs: [{ name: 'x', type: T.UINT8, dims: [...x.value.shape] }],
      initializers: [tensor('w', w.type, [...w.value.shape], Array.from(w.value.data)), tensor('xz', T.UINT8, [], [0]), tensor('wz', wz.type, [...wz.value.shape], Array.from(wz.value.data))],
      outputs: [{ name: 'y', type: T.INT32 }],
      nodes: [node('ConvInteger', ['x', 'w', 'xz', 'wz'], ['y'], { pads: attr.ints([1, 1, 1, 1]), group: attr.i(group) })],
    });
    const graph = importOnnx(bytes);
    const [theirs] = await runOrt(bytes, { x: x.value }, { x: T.UINT8 });
    const session = await Session.create(gpu(), compile(graph));
    try {
      const ours = await session.run({ x: x.value });
      expect(Array.from(ours['y']!.data as Int32Array)).toEqual(theirs!.values);
    } finally {
      session.destroy();
    }
    const count = (op: string) => graph.nodes.filter((v) => v.op === op).length;
    return { theirs: theirs!.values, convs: count('conv2d'), int8: count('dequantize_int8') };
  }
  it('a constant weight whose sums of |w| pass 2^24 / 255 is split by ranges of input channels, a byte a value: equal to ONNX Runtime past 2^24', async () => {
    // |w - zp| of 235-255 over 9 taps, x up to 255: about 29 channels fit a range (2^24 / (9 x 245 x 255)), so 64 take 3.
    const { x, w, wz } = wide();
    const { theirs, convs, int8 } = await constantWeightConv(x, w, wz);
    expect(Math.max(...theirs.map(Math.abs))).toBeGreaterThan(2 ** 24);
    expect([convs, int8]).toEqual([3, 3]);
  });
  it('a constant uint8 weight that fits whole by its sums of |w| is one conv over w - 128 as int8, plus 128 - zero point', async () => {
    // Centered values reach 195, past int8, and 576 x 255 x 195 passes 2^24; the rows' sums of |w| do not.
    const { convs, int8 } = await constantWeightConv(ints('x', T.UINT8, [1, 64, 5, 5]), ints('w', T.UINT8, [4, 64, 3, 3]), ints('wz', T.UINT8, [], 60, 60));
    expect([convs, int8]).toEqual([1, 1]);
  });
  it('a grouped constant weight past the bound is split into digits, one conv a digit: equal to ONNX Runtime', async () => {
    const { w, wz } = wide();
    const { convs, int8 } = await constantWeightConv(ints('x', T.UINT8, [1, 128, 5, 5], 240, 255), { ...w, value: tensorData('i32', [8, 64, 3, 3], [...w.value.data, ...w.value.data]) }, wz, 2);
    expect([convs, int8]).toEqual([2, 2]);
  });
  it('a constant int8 weight with zero point 0 that fits whole is an int8 weight too (QLinearConv, per-channel scales): equal to ONNX Runtime', async () => {
    const x = ints('x', T.UINT8, [1, 8, 6, 6]);
    const w = ints('w', T.INT8, [5, 8, 3, 3]);
    const bytes = buildModel({
      opset: 10,
      inputs: [{ name: 'x', type: T.UINT8, dims: [1, 8, 6, 6] }],
      initializers: [
        tensor('xs', T.FLOAT, [], [0.05]), tensor('xz', T.UINT8, [], [131]),
        tensor('w', T.INT8, [5, 8, 3, 3], Array.from(w.value.data)), tensor('ws', T.FLOAT, [5], [0.01, 0.02, 0.005, 0.03, 0.015]), tensor('wz', T.INT8, [5], [0, 0, 0, 0, 0]),
        tensor('ys', T.FLOAT, [], [0.4]), tensor('yz', T.UINT8, [], [120]),
      ],
      outputs: [{ name: 'y', type: T.UINT8 }],
      nodes: [node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], ['y'], { pads: attr.ints([1, 1, 1, 1]) })],
    });
    const graph = importOnnx(bytes);
    expect(graph.nodes.filter((v) => v.op === 'dequantize_int8')).toHaveLength(1);
    const [theirs] = await runOrt(bytes, { x: x.value }, { x: T.UINT8 });
    const session = await Session.create(gpu(), compile(graph));
    try {
      expect(Array.from((await session.run({ x: x.value }))['y']!.data as Int32Array)).toEqual(theirs!.values);
    } finally {
      session.destroy();
    }
  });
});

describe('integer matmul on the adapter', () => {
  const gpu = useGpu();
  /** MatMulInteger of input a (zero point 0) by b, an initializer or an input, run on the adapter, against ONNX Runtime exactly. */
  async function integerMatMul(a: Operand, b: Operand, bConstant: boolean) {
    const bytes = buildModel({
      opset: 10,
      inputs: [{ name: 'a', type: a.type, dims: [...a.value.shape] }, ...(bConstant ? [] : [{ name: 'b', type: b.type, dims: [...b.value.shape] }])],
      initializers: [tensor('az', a.type, [], [0]), ...(bConstant ? [tensor('b', b.type, [...b.value.shape], Array.from(b.value.data))] : [])],
      outputs: [{ name: 'y', type: T.INT32 }],
      nodes: [node('MatMulInteger', ['a', 'b', 'az'], ['y'])],
    });
    const graph = importOnnx(bytes);
    const inputs: Record<string, TensorData> = bConstant ? { a: a.value } : { a: a.value, b: b.value };
    const [theirs] = await runOrt(bytes, inputs, { a: a.type, b: b.type });
    const session = await Session.create(gpu(), compile(graph));
    try {
      expect(Array.from((await session.run(inputs))['y']!.data as Int32Array)).toEqual(theirs!.values);
    } finally {
      session.destroy();
    }
    expect(Math.max(...theirs!.values.map(Math.abs))).toBeGreaterThan(2 ** 24);
    return graph.nodes.filter((v) => v.op === 'matmul').length;
  }
  // 1023 products of 250-255 by 250-255 sum to about 6.5e7: one f32 matmul rounds them.
  const a = () => ints('a', T.UINT8, [3, 1023], 250, 255);
  const b = () => ints('b', T.UINT8, [1023, 5], 250, 255);
  it('splits K into ranges of at most 2^24 / 255^2 products where B is known only at run time', async () => {
    expect(evenRanges(1023, 255 * 255)).toEqual([[0, 258], [258, 516], [516, 774], [774, 1023]]);
    expect(evenRanges(10, 255 * 255)).toEqual([[0, 10]]);
    expect(await integerMatMul(a(), b(), false)).toBe(4);
  });
  it('splits K of a constant 8-bit B by its columns\' sums of |B - 128| times 255 (about 526 rows of 125), then subtracts the zero point shift in i32', async () => {
    expect(await integerMatMul(a(), b(), true)).toBe(2);
  });
});

describe('DequantizeLinear into bfloat16', () => {
  it('rounds (x - zero_point) * scale to the bfloat16 scale type', () => {
    const bytes = buildModel({
      opset: 21,
      inputs: [{ name: 'x', type: T.INT8, dims: [3] }, { name: 's', type: T.BFLOAT16, dims: [] }],
      outputs: [{ name: 'y', type: T.BFLOAT16 }],
      nodes: [node('DequantizeLinear', ['x', 's'], ['y'])],
    });
    const scale = 1.3984375; // a bfloat16 value: 3 * scale = 4.1953125 needs 9 significant bits
    const out = runOnCpu(importOnnx(bytes), { x: tensorData('i32', [3], [3, -1, 100]), s: tensorData('f32', [], [scale]) });
    expect(Array.from(out['y']!.data as Float32Array)).toEqual([4.1875, -1.3984375, 140]);
  });
});
