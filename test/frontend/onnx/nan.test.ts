// NaN in, NaN out through the ONNX importer: tiny models on inputs holding NaN, run on kiln's CPU
// reference and on ONNX Runtime, which must agree NaN for NaN. (The device against the CPU
// reference: test/codegen/nan.test.ts.)
import { describe, it } from 'vitest';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { attr, buildModel, node, OnnxType, tensor, type AttrInit, type NodeInit } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';

const F = OnnxType.FLOAT;
const I64 = OnnxType.INT64;
const BOOL = OnnxType.BOOL;

/** x [3, 8]: a NaN in rows 0 and 1 (first and middle position), none in row 2; ties in every row. */
const X = [
  NaN, 1, 3, 3, -2, 0.5, 3, -1,
  2, -1, 2, NaN, 0, 4, 4, NaN,
  1, -3, 1, 0.25, 5, -3, 5, 2,
];
/** y [8], NaN at other places than x's columns. */
const Y = [0, NaN, 1, -1, 2, NaN, -2, 3];

async function check(nodes: NodeInit[], opts: { opset?: number; outType?: number; inits?: object[]; x?: number[] } = {}): Promise<void> {
  const bytes = buildModel({
    opset: opts.opset ?? 18,
    inputs: [{ name: 'x', dims: [3, 8] }, { name: 'y', dims: [8] }],
    outputs: [{ name: 'out', type: opts.outType ?? F }],
    nodes, initializers: opts.inits ?? [],
  });
  await expectSameAsOrt(bytes, { inputs: { x: tensorData('f32', [3, 8], opts.x ?? X), y: tensorData('f32', [8], Y) } });
}

const onX = (op: string, attrs: Record<string, AttrInit> = {}) => [node(op, ['x'], ['out'], attrs)];

describe('ONNX ops keep NaN as ONNX Runtime does', () => {
  const unary: [string, Record<string, AttrInit>][] = [
    ['Relu', {}], ['LeakyRelu', { alpha: attr.f(0.1) }], ['HardSigmoid', {}], ['HardSwish', {}], ['Elu', {}], ['Selu', {}],
    ['Celu', {}], ['Softplus', {}], ['Tanh', {}], ['Sigmoid', {}], ['Sign', {}], ['Abs', {}], ['Neg', {}], ['Erf', {}],
    ['Softsign', {}], ['Reciprocal', {}], ['Mish', {}], ['Gelu', {}], ['Gelu', { approximate: attr.s('tanh') }],
    // NaN > alpha is false: these give 0 for NaN, in ONNX's reference as in ONNX Runtime.
    ['ThresholdedRelu', { alpha: attr.f(0.3) }], ['Shrink', { lambd: attr.f(0.4) }],
  ];
  for (const [op, attrs] of unary) it(`${op} ${JSON.stringify(attrs)}`, () => check(onX(op, attrs), { opset: op === 'Gelu' ? 20 : 18 }));
  it('LayerNormalization: the rows holding NaN are NaN', () =>
    check([node('LayerNormalization', ['x', 'scale'], ['out'])], { inits: [tensor('scale', F, [8], [1, 2, 0.5, 1, -1, 1, 3, 1])] }));

  it('Max and Min, NaN on either side', async () => {
    await check([node('Max', ['x', 'y'], ['out'])]);
    await check([node('Min', ['y', 'x'], ['out'])]);
  });
  it('PRelu', () => check([node('PRelu', ['x', 'y'], ['out'])]));
  it('Clip: bounds as attributes, as constants, computed at run time', async () => {
    await check(onX('Clip', { min: attr.f(0), max: attr.f(6) }), { opset: 6 });
    await check([node('Clip', ['x', 'lo', 'hi'], ['out'])], { inits: [tensor('lo', F, [], [-1]), tensor('hi', F, [], [1])] });
    await check([node('ReduceMax', ['y'], ['hi'], { keepdims: attr.i(0) }), node('Clip', ['x', '', 'hi'], ['out'])]);
  });
  it('Clip with a NaN bound gives NaN everywhere', () =>
    check([node('Clip', ['x', 'lo'], ['out'])], { inits: [tensor('lo', F, [], [NaN])] }));
  it('comparisons: NaN compares false, and is not equal', async () => {
    for (const op of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) {
      await check([node(op, ['x', 'y'], ['out'])], { outType: BOOL });
    }
    await check([node('Equal', ['x', 'x'], ['e']), node('Not', ['e'], ['out'])], { outType: BOOL });
  });
  for (const op of ['ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceMean', 'ReduceLogSumExp']) {
    it(`${op} over each axis`, async () => {
      await check([node(op, ['x', 'axes'], ['out'])], { inits: [tensor('axes', I64, [1], [1])] });
      await check([node(op, ['x', 'axes'], ['out'])], { inits: [tensor('axes', I64, [1], [0])] });
    });
  }
  // ONNX Runtime's ArgMax/ArgMin skip NaN; ONNX's reference (NumPy) and PyTorch pick it, as kiln
  // does (test/runtime/cpu/nan.test.ts). Here: ties, without NaN.
  for (const op of ['ArgMax', 'ArgMin']) {
    it(`${op}, first and last index of ties`, async () => {
      for (const last of [0, 1]) {
        for (const axis of [0, 1]) await check(onX(op, { axis: attr.i(axis), select_last_index: attr.i(last) }), { outType: I64, x: X.map((v) => (Number.isNaN(v) ? 4 : v)) });
      }
    });
  }
  it('Softmax and LogSoftmax: the row holding NaN is NaN', async () => {
    await check(onX('Softmax', { axis: attr.i(1) }));
    await check(onX('LogSoftmax', { axis: attr.i(1) }));
  });
  it('MaxPool and GlobalMaxPool', async () => {
    const as4d = (op: string, attrs: Record<string, AttrInit> = {}) => [
      node('Reshape', ['x', 'shape'], ['x4']), node(op, ['x4'], ['p'], attrs), node('Reshape', ['p', 'flat'], ['out']),
    ];
    const inits = (flat: number) => [tensor('shape', I64, [4], [1, 3, 2, 4]), tensor('flat', I64, [1], [flat])];
    await check(as4d('MaxPool', { kernel_shape: attr.ints([2, 2]) }), { inits: inits(9) });
    await check(as4d('GlobalMaxPool'), { inits: inits(3) });
  });
});
