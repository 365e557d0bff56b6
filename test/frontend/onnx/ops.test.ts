// ONNX op mappings across opsets, checked against ONNX Runtime: each case is a tiny model built
// here, imported and run on kiln's CPU reference, and run by ONNX Runtime on the same inputs.
// (GPU kernels are tested against the CPU reference by each op family's own tests, and whole
// models on WebGPU in models.test.ts and backend-conformance.test.ts.)
import { describe, expect, it } from 'vitest';
import { attr, buildModel, node, OnnxType, subgraph, tensor, type AttrInit, type IoInit, type NodeInit } from './onnx-builder.js';
import { expectSameAsOrt, type OracleOptions } from './ort-oracle.js';
import { tensorData } from '../../../src/ir/tensor-data.js';

const F = OnnxType.FLOAT;
const I64 = OnnxType.INT64;
const BOOL = OnnxType.BOOL;
const INT64_MAX = 9223372036854775807n;

interface Case {
  opset?: number;
  inputs: IoInit[];
  outputs?: IoInit[];
  nodes: NodeInit[];
  initializers?: object[];
  options?: OracleOptions;
}

/** One node on float inputs `x` (and `y`, `z`) writing `out`. */
function one(op: string, shapes: number[][], attrs: Record<string, AttrInit> = {}, extra: Partial<Case> = {}): Case {
  const names = ['x', 'y', 'z', 'w'].slice(0, shapes.length);
  return {
    inputs: shapes.map((dims, i) => ({ name: names[i]!, dims })),
    nodes: [node(op, [...names, ...(extra.nodes ? [] : [])], ['out'], attrs)],
    ...extra,
  };
}

async function check(c: Case): Promise<void> {
  const bytes = buildModel({
    opset: c.opset ?? 17, inputs: c.inputs, outputs: c.outputs ?? [{ name: 'out' }],
    nodes: c.nodes, initializers: c.initializers ?? [],
  });
  const onnxTypes = Object.fromEntries(c.inputs.map((i) => [i.name, i.type ?? F]));
  await expectSameAsOrt(bytes, { onnxTypes, ...c.options });
}

const i64 = (name: string, values: (number | bigint)[], dims = [values.length]) =>
  ({ name, data_type: I64, dims, raw_data: new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer) });
const f32 = (name: string, values: number[], dims = [values.length]) => tensor(name, F, dims, values);

describe('elementwise ops', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    it(`${op} broadcasts NumPy-style`, () => check(one(op, [[2, 3, 4], [3, 1]])));
  }
  it('Pow with an int64 exponent', () => check({
    inputs: [{ name: 'x', dims: [2, 5] }], initializers: [i64('e', [3])],
    nodes: [node('Pow', ['x', 'e'], ['out'])],
  }));
  for (const op of ['Max', 'Min', 'Sum', 'Mean']) {
    it(`${op} of three broadcast operands`, () => check(one(op, [[2, 3], [3], [2, 1]])));
  }
  for (const op of ['Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) {
    it(`${op} gives bool`, () => check({
      inputs: [{ name: 'x', dims: [3, 4] }, { name: 'y', dims: [4] }], outputs: [{ name: 'out', type: BOOL }],
      nodes: [node(op, ['x', 'y'], ['out'])],
    }));
  }
  it('Equal on int64 (small integers, so ties occur)', () => check({
    inputs: [{ name: 'x', dims: [3, 4], type: I64 }, { name: 'y', dims: [4], type: I64 }], outputs: [{ name: 'out', type: BOOL }],
    nodes: [node('Equal', ['x', 'y'], ['out'])],
  }));
  it('Where, Not, And, Or, Xor on comparison masks', () => check({
    inputs: [{ name: 'x', dims: [3, 4] }, { name: 'y', dims: [4] }],
    outputs: [{ name: 'out' }, { name: 'mask', type: BOOL }],
    nodes: [
      node('Greater', ['x', 'y'], ['gt']), node('Less', ['x', 'y'], ['lt']), node('Not', ['gt'], ['ngt']),
      node('And', ['ngt', 'lt'], ['a']), node('Or', ['a', 'gt'], ['o']), node('Xor', ['o', 'lt'], ['mask']),
      node('Where', ['gt', 'x', 'y'], ['out']),
    ],
  }));
  it('Cast float -> int64 truncates, int64 -> float, float -> bool', () => check({
    inputs: [{ name: 'x', dims: [12] }], initializers: [f32('k', [3])],
    outputs: [{ name: 'out' }, { name: 'b', type: BOOL }],
    nodes: [
      node('Mul', ['x', 'k'], ['xk']), node('Cast', ['xk'], ['i'], { to: attr.i(I64) }),
      node('Cast', ['i'], ['out'], { to: attr.i(F) }), node('Cast', ['i'], ['b'], { to: attr.i(BOOL) }),
    ],
  }));
  it('Clip with attributes (opset 6)', () => check({ ...one('Clip', [[3, 4]], { min: attr.f(-0.5), max: attr.f(0.7) }), opset: 6 }));
  it('Clip with a min input only (opset 11)', () => check({
    opset: 11, inputs: [{ name: 'x', dims: [3, 4] }], initializers: [f32('lo', [-0.25], [])],
    nodes: [node('Clip', ['x', 'lo'], ['out'])],
  }));
  it('Clip with bounds computed at run time (opset 13)', () => check({
    opset: 13, inputs: [{ name: 'x', dims: [3, 4] }, { name: 'lo', dims: [] }, { name: 'hi', dims: [] }],
    nodes: [node('Abs', ['hi'], ['ahi']), node('Clip', ['x', 'lo', 'ahi'], ['out'])],
  }));
  const unary: [string, Record<string, AttrInit>, number?][] = [
    ['Relu', {}], ['Sigmoid', {}], ['Tanh', {}], ['Exp', {}], ['Log', {}], ['Sqrt', {}], ['Erf', {}], ['Neg', {}],
    ['Abs', {}], ['Reciprocal', {}], ['Softplus', {}], ['Softsign', {}], ['Elu', { alpha: attr.f(0.7) }], ['Selu', {}],
    ['Celu', { alpha: attr.f(1.5) }], ['LeakyRelu', { alpha: attr.f(0.2) }], ['HardSigmoid', {}],
    ['HardSigmoid', { alpha: attr.f(0.3), beta: attr.f(0.4) }], ['HardSwish', {}], ['ThresholdedRelu', { alpha: attr.f(0.3) }],
    ['Sign', {}], ['Shrink', { lambd: attr.f(0.4), bias: attr.f(0.1) }], ['Mish', {}, 18],
    ['Gelu', {}, 20], ['Gelu', { approximate: attr.s('tanh') }, 20], ['Identity', {}],
  ];
  for (const [op, attrs, opset] of unary) {
    it(`${op} ${JSON.stringify(attrs)}`, () => check({ ...one(op, [[3, 17]], attrs), opset: opset ?? 17 }));
  }
  it('PRelu with a per-channel slope', () => check({
    inputs: [{ name: 'x', dims: [2, 3, 4, 5] }], initializers: [f32('s', [0.1, -0.2, 0.3], [3, 1, 1])],
    nodes: [node('PRelu', ['x', 's'], ['out'])],
  }));
  it('Dropout at inference passes its input through (opsets 7 and 13)', async () => {
    await check({ ...one('Dropout', [[2, 3]], { ratio: attr.f(0.3) }), opset: 7 });
    await check({ ...one('Dropout', [[2, 3]]), opset: 13 });
  });
});

describe('MatMul and Gemm', () => {
  it('MatMul batched with broadcasting', () => check(one('MatMul', [[2, 1, 3, 4], [5, 4, 2]])));
  it('MatMul vector x matrix, matrix x vector, vector x vector', async () => {
    await check(one('MatMul', [[4], [4, 3]]));
    await check(one('MatMul', [[2, 3, 4], [4]]));
    await check(one('MatMul', [[4], [4]]));
  });
  it('Gemm with transposes, alpha, beta and a [N] bias', () => check({
    inputs: [{ name: 'a', dims: [5, 3] }, { name: 'b', dims: [4, 5] }], initializers: [f32('c', [1, 2, 3, 4])],
    nodes: [node('Gemm', ['a', 'b', 'c'], ['out'], { transA: attr.i(1), transB: attr.i(1), alpha: attr.f(0.5), beta: attr.f(2) })],
  }));
  it('Gemm without C (opset 11)', () => check({ ...one('Gemm', [[3, 5], [5, 2]]), opset: 11 }));
});

describe('convolution and pooling', () => {
  it('Conv 2-D with pads, strides, dilations, groups and bias', () => check({
    inputs: [{ name: 'x', dims: [1, 4, 9, 8] }, { name: 'w', dims: [6, 2, 3, 2] }, { name: 'b', dims: [6] }],
    nodes: [node('Conv', ['x', 'w', 'b'], ['out'], { pads: attr.ints([1, 0, 2, 1]), strides: attr.ints([2, 1]), dilations: attr.ints([1, 2]), group: attr.i(2) })],
  }));
  for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
    it(`Conv with auto_pad ${autoPad}`, () => check({
      inputs: [{ name: 'x', dims: [1, 2, 7, 6] }, { name: 'w', dims: [3, 2, 4, 3] }],
      nodes: [node('Conv', ['x', 'w'], ['out'], { auto_pad: attr.s(autoPad), strides: attr.ints([2, 2]), kernel_shape: attr.ints([4, 3]) })],
    }));
  }
  it('Conv 1-D', () => check({
    inputs: [{ name: 'x', dims: [2, 3, 11] }, { name: 'w', dims: [4, 3, 3] }],
    nodes: [node('Conv', ['x', 'w'], ['out'], { pads: attr.ints([1, 2]), strides: attr.ints([2]) })],
  }));
  it('ConvTranspose 2-D with strides, pads, output_padding and groups', () => check({
    inputs: [{ name: 'x', dims: [1, 4, 5, 4] }, { name: 'w', dims: [4, 3, 3, 3] }],
    nodes: [node('ConvTranspose', ['x', 'w'], ['out'], { strides: attr.ints([2, 3]), pads: attr.ints([1, 0, 1, 1]), output_padding: attr.ints([1, 2]), group: attr.i(2) })],
  }));
  it('ConvTranspose with output_shape', () => check({
    inputs: [{ name: 'x', dims: [1, 2, 4, 4] }, { name: 'w', dims: [2, 3, 3, 3] }],
    nodes: [node('ConvTranspose', ['x', 'w'], ['out'], { strides: attr.ints([2, 2]), output_shape: attr.ints([8, 8]) })],
  }));
  it('ConvTranspose with output_shape past the unpadded output: the extra positions at the end hold the bias', () => check({
    inputs: [{ name: 'x', dims: [1, 2, 3, 3] }, { name: 'w', dims: [2, 3, 3, 3] }, { name: 'b', dims: [3] }],
    nodes: [node('ConvTranspose', ['x', 'w', 'b'], ['out'], { strides: attr.ints([3, 2]), output_shape: attr.ints([11, 8]) })],
  }));
  it('ConvTranspose 1-D with bias', () => check({
    inputs: [{ name: 'x', dims: [1, 2, 5] }, { name: 'w', dims: [2, 3, 4] }, { name: 'b', dims: [3] }],
    nodes: [node('ConvTranspose', ['x', 'w', 'b'], ['out'], { strides: attr.ints([2]) })],
  }));
  it('MaxPool with pads, strides, dilations and ceil_mode', () => check(one('MaxPool', [[1, 2, 9, 8]], {
    kernel_shape: attr.ints([3, 2]), pads: attr.ints([1, 1, 1, 0]), strides: attr.ints([2, 2]), dilations: attr.ints([1, 2]), ceil_mode: attr.i(1),
  })));
  it('MaxPool with auto_pad SAME_UPPER and 1-D MaxPool', async () => {
    await check(one('MaxPool', [[1, 2, 7, 6]], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), auto_pad: attr.s('SAME_UPPER') }));
    await check(one('MaxPool', [[2, 3, 10]], { kernel_shape: attr.ints([3]), strides: attr.ints([2]), pads: attr.ints([1, 1]) }));
  });
  for (const include of [0, 1]) {
    it(`AveragePool count_include_pad=${include}, ceil_mode`, () => check(one('AveragePool', [[1, 2, 7, 7]], {
      kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]), count_include_pad: attr.i(include), ceil_mode: attr.i(1),
    })));
  }
  it('AveragePool 1-D', () => check(one('AveragePool', [[2, 3, 9]], { kernel_shape: attr.ints([2]), strides: attr.ints([2]) })));
  it('GlobalAveragePool and GlobalMaxPool', async () => {
    await check(one('GlobalAveragePool', [[2, 3, 5, 4]]));
    await check(one('GlobalMaxPool', [[2, 3, 5, 4]]));
  });
});

describe('normalization', () => {
  it('BatchNormalization (opsets 9 and 15)', async () => {
    const params = [f32('s', [1, 2, 0.5]), f32('b', [0, 1, -1]), f32('m', [0.1, -0.2, 0.3]), f32('v', [1, 0.5, 2])];
    for (const opset of [9, 15]) {
      await check({
        opset, inputs: [{ name: 'x', dims: [2, 3, 4, 5] }], initializers: params,
        nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['out'], { epsilon: attr.f(1e-3) })],
      });
    }
  });
  it('InstanceNormalization', () => check({
    inputs: [{ name: 'x', dims: [2, 3, 4, 5] }], initializers: [f32('s', [1, 2, 0.5]), f32('b', [0, 1, -1])],
    nodes: [node('InstanceNormalization', ['x', 's', 'b'], ['out'], { epsilon: attr.f(1e-4) })],
  }));
  it('LayerNormalization over the last axis and over the last two', async () => {
    await check({
      inputs: [{ name: 'x', dims: [2, 3, 8] }], initializers: [f32('s', [1, 2, 3, 4, 5, 6, 7, 8].map((v) => v / 4)), f32('b', [0, 1, 0, 1, 0, 1, 0, 1])],
      nodes: [node('LayerNormalization', ['x', 's', 'b'], ['out'])],
    });
    await check({
      inputs: [{ name: 'x', dims: [2, 3, 4] }], initializers: [f32('s', new Array(12).fill(0).map((_, i) => i / 6), [3, 4])],
      nodes: [node('LayerNormalization', ['x', 's'], ['out'], { axis: attr.i(1), epsilon: attr.f(1e-3) })],
    });
  });
});

describe('reductions and softmax', () => {
  it('ReduceMean with axes as an attribute (opset 13), keepdims 0 and 1', async () => {
    await check({ ...one('ReduceMean', [[2, 3, 4]], { axes: attr.ints([1, -1]), keepdims: attr.i(0) }), opset: 13 });
    await check({ ...one('ReduceMean', [[2, 3, 4]], { axes: attr.ints([0]) }), opset: 13 });
  });
  it('ReduceMean with axes as an input (opset 18), and every axis when absent', async () => {
    await check({ opset: 18, inputs: [{ name: 'x', dims: [2, 3, 4] }], initializers: [i64('ax', [-2])], nodes: [node('ReduceMean', ['x', 'ax'], ['out'])] });
    await check({ ...one('ReduceMean', [[2, 3, 4]]), opset: 18 });
  });
  it('ReduceSum with axes as an input (opset 13) and noop_with_empty_axes', async () => {
    await check({ opset: 13, inputs: [{ name: 'x', dims: [2, 3, 4] }], initializers: [i64('ax', [0, 2])], nodes: [node('ReduceSum', ['x', 'ax'], ['out'], { keepdims: attr.i(0) })] });
    await check({ ...one('ReduceSum', [[2, 3]], { noop_with_empty_axes: attr.i(1) }), opset: 13 });
    await check({ ...one('ReduceSum', [[2, 3]], { axes: attr.ints([1]) }), opset: 11 });
  });
  for (const op of ['ReduceMax', 'ReduceMin', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp']) {
    it(`${op}`, () => check({ ...one(op, [[3, 4, 5]], { axes: attr.ints([1]), keepdims: attr.i(0) }), opset: 13 }));
  }
  it('ReduceLogSum over every axis', () => check({
    opset: 13, inputs: [{ name: 'x', dims: [3, 4] }], nodes: [node('Abs', ['x'], ['a']), node('ReduceLogSum', ['a'], ['out'])],
  }));
  for (const op of ['ArgMax', 'ArgMin']) {
    it(`${op} gives int64 indices`, async () => {
      await check({ ...one(op, [[3, 4, 5]], { axis: attr.i(-1) }), outputs: [{ name: 'out', type: I64 }] });
      await check({ ...one(op, [[3, 4, 5]], { axis: attr.i(1), keepdims: attr.i(0) }), outputs: [{ name: 'out', type: I64 }] });
    });
  }
  for (const op of ['Softmax', 'LogSoftmax']) {
    it(`${op} before opset 13 flattens to 2-D at axis`, async () => {
      await check({ ...one(op, [[2, 3, 4]], { axis: attr.i(1) }), opset: 11 });
      await check({ ...one(op, [[2, 3, 4]]), opset: 11 });
      await check({ ...one(op, [[2, 3, 4]], { axis: attr.i(-1) }), opset: 11 });
    });
    it(`${op} from opset 13 normalises along axis`, async () => {
      await check({ ...one(op, [[2, 3, 4]], { axis: attr.i(1) }), opset: 13 });
      await check({ ...one(op, [[2, 3, 4]]), opset: 13 });
    });
  }
});

describe('shape computations fold at import', () => {
  it('Shape -> Gather -> Unsqueeze -> Concat -> Reshape with a symbolic batch bound at import', async () => {
    const graph = await expectSameAsOrtModel({
      opset: 13, inputs: [{ name: 'x', dims: ['batch', 3, 4] }],
      initializers: [i64('zero', [0], []), i64('minus1', [-1]), i64('ax0', [0])],
      nodes: [
        node('Shape', ['x'], ['s']), node('Gather', ['s', 'zero'], ['n'], { axis: attr.i(0) }),
        node('Unsqueeze', ['n', 'ax0'], ['n1']), node('Concat', ['n1', 'minus1'], ['shape'], { axis: attr.i(0) }),
        node('Reshape', ['x', 'shape'], ['out']),
      ],
    }, { inputShapes: { x: [2, 3, 4] } });
    // The whole shape computation folded: only the reshape remains.
    expect(graph.nodes.map((n) => n.op)).toEqual(['reshape']);
    expect(graph.outputs[0]!.type.shape).toEqual([2, 12]);
  });
  it('Shape with start and end (opset 15), Size, ConstantOfShape, Range', () => check({
    opset: 15, inputs: [{ name: 'x', dims: [2, 3, 4] }],
    initializers: [i64('zero', [0], []), i64('one', [1], [])],
    nodes: [
      node('Shape', ['x'], ['s'], { start: attr.i(1), end: attr.i(-1) }), node('ConstantOfShape', ['s'], ['c'], { value: attr.t(tensor('v', F, [1], [0.5])) }),
      node('Size', ['x'], ['n']), node('Range', ['zero', 'n', 'one'], ['r']), node('Cast', ['r'], ['rf'], { to: attr.i(F) }),
      node('ReduceSum', ['rf'], ['total'], { keepdims: attr.i(0) }), node('Add', ['c', 'total'], ['out']),
    ],
  }));
  it('Floor and Ceil in shape arithmetic (Shape -> Cast -> Mul -> Floor/Ceil -> Cast -> Reshape)', () => check({
    opset: 13, inputs: [{ name: 'x', dims: [4, 6] }], initializers: [f32('k1', [0.5, 2.1]), f32('k2', [0.5, 1.9])],
    outputs: [{ name: 'out' }, { name: 'out2' }],
    nodes: [
      node('Shape', ['x'], ['s']), node('Cast', ['s'], ['sf'], { to: attr.i(F) }),
      node('Mul', ['sf', 'k1'], ['m1']), node('Floor', ['m1'], ['fl']), node('Cast', ['fl'], ['shape1'], { to: attr.i(I64) }),
      node('Mul', ['sf', 'k2'], ['m2']), node('Ceil', ['m2'], ['ce']), node('Cast', ['ce'], ['shape2'], { to: attr.i(I64) }),
      node('Reshape', ['x', 'shape1'], ['out']), node('Reshape', ['x', 'shape2'], ['out2']),
    ],
  }));
  it('Reshape copies dims with 0 and infers -1; allowzero=1 keeps explicit shapes', async () => {
    await check({ opset: 13, inputs: [{ name: 'x', dims: [2, 3, 4] }], initializers: [i64('s', [0, -1, 2])], nodes: [node('Reshape', ['x', 's'], ['out'])] });
    await check({ opset: 14, inputs: [{ name: 'x', dims: [2, 3, 4] }], initializers: [i64('s', [4, 3, 2])], nodes: [node('Reshape', ['x', 's'], ['out'], { allowzero: attr.i(1) })] });
  });
  it('Constant in all its forms', () => check({
    opset: 13, inputs: [{ name: 'x', dims: [2, 3] }],
    nodes: [
      node('Constant', [], ['a'], { value_float: attr.f(1.5) }), node('Constant', [], ['b'], { value_floats: attr.floats([1, 2, 3]) }),
      node('Constant', [], ['c'], { value_int: attr.i(2) }), node('Constant', [], ['d'], { value_ints: attr.ints([3, 2]) }),
      node('Constant', [], ['e'], { value: attr.t(tensor('t', F, [2, 1], [10, 20], 'typed')) }),
      node('Cast', ['c'], ['cf'], { to: attr.i(F) }), node('Add', ['x', 'a'], ['x1']), node('Mul', ['x1', 'b'], ['x2']),
      node('Add', ['x2', 'cf'], ['x3']), node('Add', ['x3', 'e'], ['x4']), node('Reshape', ['x4', 'd'], ['out']),
    ],
  }));
});

describe('movement ops', () => {
  it('Flatten at axes 0, 2 and -1', async () => {
    for (const axis of [0, 2, -1]) await check(one('Flatten', [[2, 3, 4]], { axis: attr.i(axis) }));
  });
  it('Squeeze and Unsqueeze with axes as attributes (opset 11) and inputs (opset 13)', async () => {
    await check({ ...one('Squeeze', [[1, 3, 1, 2]], { axes: attr.ints([-2]) }), opset: 11 });
    await check({ ...one('Squeeze', [[1, 3, 1, 2]]), opset: 11 });
    await check({ ...one('Unsqueeze', [[3, 2]], { axes: attr.ints([0, -1]) }), opset: 11 });
    await check({ opset: 13, inputs: [{ name: 'x', dims: [1, 3, 1] }], initializers: [i64('a', [0])], nodes: [node('Squeeze', ['x', 'a'], ['out'])] });
    await check({ opset: 13, inputs: [{ name: 'x', dims: [3, 2] }], initializers: [i64('a', [1, 3])], nodes: [node('Unsqueeze', ['x', 'a'], ['out'])] });
  });
  it('Transpose with and without perm', async () => {
    await check(one('Transpose', [[2, 3, 4]], { perm: attr.ints([1, 2, 0]) }));
    await check(one('Transpose', [[2, 3, 4]]));
  });
  it('Concat with an initializer operand', () => check({
    inputs: [{ name: 'x', dims: [2, 3] }], initializers: [f32('c', [1, 2, 3, 4], [2, 2])],
    nodes: [node('Concat', ['x', 'c', 'x'], ['out'], { axis: attr.i(-1) })],
  }));
  it('Split by attribute (opset 11), by input (opset 13), into equal parts, and by num_outputs (opset 18)', async () => {
    const outs = [{ name: 'o1' }, { name: 'o2' }];
    await check({ opset: 11, inputs: [{ name: 'x', dims: [2, 5] }], outputs: outs, nodes: [node('Split', ['x'], ['o1', 'o2'], { axis: attr.i(1), split: attr.ints([2, 3]) })] });
    await check({ opset: 13, inputs: [{ name: 'x', dims: [2, 5] }], outputs: outs, initializers: [i64('sp', [4, 1])], nodes: [node('Split', ['x', 'sp'], ['o1', 'o2'], { axis: attr.i(-1) })] });
    await check({ opset: 13, inputs: [{ name: 'x', dims: [4, 3] }], outputs: outs, nodes: [node('Split', ['x'], ['o1', 'o2'])] });
    await check({ opset: 18, inputs: [{ name: 'x', dims: [5, 3] }], outputs: outs, nodes: [node('Split', ['x'], ['o1', 'o2'], { num_outputs: attr.i(2) })] });
  });
  it('Slice with attributes (opset 9)', () => check({ ...one('Slice', [[4, 5, 6]], { starts: attr.ints([1, -4]), ends: attr.ints([1000, -1]), axes: attr.ints([0, 2]) }), opset: 9 }));
  it('Slice with inputs: negative steps, INT64_MAX ends, negative axes (opset 13)', () => check({
    opset: 13, inputs: [{ name: 'x', dims: [4, 5, 6] }],
    initializers: [i64('st', [-1, 1]), i64('en', [-INT64_MAX, INT64_MAX]), i64('ax', [-1, 0]), i64('sp', [-2, 2])],
    nodes: [node('Slice', ['x', 'st', 'en', 'ax', 'sp'], ['out'])],
  }));
  it('Pad with attributes (opset 7) and inputs (opsets 13 and 18 with axes), every mode', async () => {
    await check({ ...one('Pad', [[2, 3, 4]], { pads: attr.ints([0, 1, 2, 0, 2, 1]), value: attr.f(1.5) }), opset: 7 });
    for (const mode of ['constant', 'reflect', 'edge']) {
      await check({ opset: 13, inputs: [{ name: 'x', dims: [1, 2, 4, 5] }], initializers: [i64('p', [0, 0, 2, 1, 0, 0, 1, 3]), f32('v', [-2], [])], nodes: [node('Pad', ['x', 'p', ...(mode === 'constant' ? ['v'] : [])], ['out'], { mode: attr.s(mode) })] });
    }
    await check({ opset: 18, inputs: [{ name: 'x', dims: [2, 3, 4] }], initializers: [i64('p', [1, 2, 0, 1]), i64('ax', [-1, 0])], nodes: [node('Pad', ['x', 'p', '', 'ax'], ['out'])] });
  });
  it('Gather with negative constant indices and with run-time int64 indices', async () => {
    await check({ inputs: [{ name: 'x', dims: [3, 4, 2] }], initializers: [i64('idx', [-1, 0, 2, -3], [2, 2])], nodes: [node('Gather', ['x', 'idx'], ['out'], { axis: attr.i(1) })] });
    await check({ inputs: [{ name: 'x', dims: [5, 3] }, { name: 'i', dims: [2, 3], type: I64 }], nodes: [node('Gather', ['x', 'i'], ['out'])] });
  });
  it('Expand and Tile', async () => {
    await check({ inputs: [{ name: 'x', dims: [3, 1] }], initializers: [i64('s', [2, 1, 4])], nodes: [node('Expand', ['x', 's'], ['out'])] });
    await check({ inputs: [{ name: 'x', dims: [2, 3] }], initializers: [i64('r', [2, 3])], nodes: [node('Tile', ['x', 'r'], ['out'])] });
  });
  it('DepthToSpace (DCR and CRD) and SpaceToDepth', async () => {
    await check(one('DepthToSpace', [[1, 8, 2, 3]], { blocksize: attr.i(2) }));
    await check(one('DepthToSpace', [[1, 8, 2, 3]], { blocksize: attr.i(2), mode: attr.s('CRD') }));
    await check(one('SpaceToDepth', [[1, 2, 4, 6]], { blocksize: attr.i(2) }));
  });
  it('Resize: nearest by scales, linear by sizes, every coordinate mode (opset 13)', async () => {
    const modes = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric'];
    for (const coord of modes) {
      await check({
        opset: 13, inputs: [{ name: 'x', dims: [1, 2, 3, 4] }], initializers: [f32('sc', [1, 1, 2, 1.5])],
        nodes: [node('Resize', ['x', '', 'sc'], ['out'], { mode: attr.s('nearest'), coordinate_transformation_mode: attr.s(coord), nearest_mode: attr.s('floor') })],
      });
      await check({
        opset: 13, inputs: [{ name: 'x', dims: [1, 2, 3, 4] }], initializers: [i64('sz', [1, 2, 5, 7])],
        nodes: [node('Resize', ['x', '', '', 'sz'], ['out'], { mode: attr.s('linear'), coordinate_transformation_mode: attr.s(coord) })],
      });
    }
  });
  it('Resize opset 10 and Upsample opset 9 (asymmetric nearest)', async () => {
    await check({ opset: 10, inputs: [{ name: 'x', dims: [1, 2, 3, 4] }], initializers: [f32('sc', [1, 1, 2, 2])], nodes: [node('Resize', ['x', 'sc'], ['out'])] });
    await check({ opset: 9, inputs: [{ name: 'x', dims: [1, 2, 3, 4] }], initializers: [f32('sc', [1, 1, 2, 3])], nodes: [node('Upsample', ['x', 'sc'], ['out'])] });
  });
});

describe('control flow', () => {
  // if x.shape[0] == 2: relu(x) * w else: -x, where w is the then-branch's own initializer.
  const ifModel = (batch: number | string) => ({
    opset: 13, inputs: [{ name: 'x', dims: [batch, 3] }],
    initializers: [i64('two', [2], []), i64('zero', [0], [])],
    nodes: [
      node('Shape', ['x'], ['s']), node('Gather', ['s', 'zero'], ['n']), node('Equal', ['n', 'two'], ['cond']),
      node('If', ['cond'], ['out'], {
        then_branch: attr.g(subgraph('then', [node('Relu', ['x'], ['r']), node('Mul', ['r', 'w'], ['t_out'])], [{ name: 't_out' }], [f32('w', [1, 2, 3])])),
        else_branch: attr.g(subgraph('else', [node('Neg', ['x'], ['e_out'])], [{ name: 'e_out' }])),
      }, 'shape_check'),
    ],
  });
  it('If with a condition known at import takes its branch (both ways)', async () => {
    await check(ifModel(2));
    await check(ifModel(3));
  });
  it('If with a condition given at run time selects between its branches when it runs (both ways)', async () => {
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: [3] }, { name: 'c', dims: [], type: BOOL }], outputs: [{ name: 'out' }],
      nodes: [node('If', ['c'], ['out'], {
        then_branch: attr.g(subgraph('then', [node('Relu', ['x'], ['t'])], [{ name: 't' }])),
        else_branch: attr.g(subgraph('else', [node('Neg', ['x'], ['e'])], [{ name: 'e' }])),
      }, 'dyn_if')],
    });
    for (const c of [1, 0]) {
      await expectSameAsOrt(bytes, { onnxTypes: { c: BOOL }, inputs: { x: tensorData('f32', [3], [1, -2, 0.5]), c: tensorData('bool', [], [c]) } });
    }
  });
});

/** Like check(), with import options, returning the imported graph. */
async function expectSameAsOrtModel(c: Case, options: OracleOptions) {
  const bytes = buildModel({ opset: c.opset ?? 17, inputs: c.inputs, outputs: c.outputs ?? [{ name: 'out' }], nodes: c.nodes, initializers: c.initializers ?? [] });
  return expectSameAsOrt(bytes, options);
}
