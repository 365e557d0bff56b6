// RNN, GRU and LSTM (unrolled at import) against ONNX Runtime, attribute by attribute: directions,
// layouts, activations with their alpha/beta, clip, input_forget, linear_before_reset, initial
// states, peepholes, sequence lengths (known at import and given at run time), every output.
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { compileSegmented } from '../../../src/compiler.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import { useGpu } from '../../helpers/gpu.js';
import { expectClose } from '../../helpers/compare.js';
import { attr, buildModel, node, OnnxType, tensor, type AttrInit, type IoInit } from './onnx-builder.js';
import { expectSameAsOrt, runOrt, seededInputs } from './ort-oracle.js';

const I32 = OnnxType.INT32;

interface Recurrent {
  op: 'RNN' | 'GRU' | 'LSTM';
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  dirs?: number;
  layout?: number;
  attrs?: Record<string, AttrInit>;
  /** Optional operands to give: B, sequence_lens (values, as a constant), initial_h, initial_c, P. */
  bias?: boolean;
  lens?: number[];
  /** sequence_lens as a graph input (run time) with these values. */
  runtimeLens?: number[];
  initial?: boolean;
  peepholes?: boolean;
  outputs?: ('Y' | 'Y_h' | 'Y_c')[];
}

const GATES = { RNN: 1, GRU: 3, LSTM: 4 };

function model(c: Recurrent): Uint8Array {
  const dirs = c.dirs ?? 1;
  const g = GATES[c.op];
  const lead = (a: number, b: number) => (c.layout === 1 ? [b, a] : [a, b]);
  const inputs: IoInit[] = [
    { name: 'X', dims: [...lead(c.seq, c.batch), c.input] },
    { name: 'W', dims: [dirs, g * c.hidden, c.input] },
    { name: 'R', dims: [dirs, g * c.hidden, c.hidden] },
  ];
  const initializers: object[] = [];
  const names = ['X', 'W', 'R', '', '', '', '', ''];
  if (c.bias) { inputs.push({ name: 'B', dims: [dirs, 2 * g * c.hidden] }); names[3] = 'B'; }
  if (c.lens) { initializers.push(tensor('lens', I32, [c.batch], c.lens)); names[4] = 'lens'; }
  if (c.runtimeLens) { inputs.push({ name: 'lens', dims: [c.batch], type: I32 }); names[4] = 'lens'; }
  if (c.initial) {
    inputs.push({ name: 'h0', dims: [...lead(dirs, c.batch), c.hidden] }); names[5] = 'h0';
    if (c.op === 'LSTM') { inputs.push({ name: 'c0', dims: [...lead(dirs, c.batch), c.hidden] }); names[6] = 'c0'; }
  }
  if (c.peepholes) { inputs.push({ name: 'P', dims: [dirs, 3 * c.hidden] }); names[7] = 'P'; }
  while (names.at(-1) === '') names.pop();
  const all = c.op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  const outputs = c.outputs ?? all;
  return buildModel({
    opset: 14, inputs, outputs: outputs.map((name) => ({ name })), initializers,
    nodes: [node(c.op, names, all.map((o) => (outputs.includes(o as never) ? o : '')), {
      hidden_size: attr.i(c.hidden),
      ...(dirs === 2 ? { direction: attr.s('bidirectional') } : {}),
      ...(c.layout ? { layout: attr.i(c.layout) } : {}),
      ...c.attrs,
    })],
  });
}

/** `t` with its first two axes swapped (layout 0 <-> layout 1); Y [s, d, b, h] <-> [b, s, d, h]. */
function relayout(t: TensorData, y = false): TensorData {
  const [a, b, ...rest] = t.shape as number[];
  const inner = rest.reduce((p, d) => p * d, 1);
  if (y) {
    // [s, d, b, h] -> [b, s, d, h]
    const [d, h] = [b!, rest[1]!];
    const bt = rest[0]!;
    const out = new Float32Array(t.data.length);
    for (let i = 0; i < a!; i++) for (let j = 0; j < d; j++) for (let k = 0; k < bt; k++) for (let m = 0; m < h; m++) out[((k * a! + i) * d + j) * h + m] = (t.data as Float32Array)[((i * d + j) * bt + k) * h + m]!;
    return tensorData(t.dtype, [bt, a!, d, h], out);
  }
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < a!; i++) for (let j = 0; j < b!; j++) for (let k = 0; k < inner; k++) out[(j * a! + i) * inner + k] = (t.data as Float32Array)[(i * b! + j) * inner + k]!;
  return tensorData(t.dtype, [b!, a!, ...rest], out);
}

/**
 * Runs the case on kiln's CPU reference and ONNX Runtime. ONNX Runtime has no layout 1, so a
 * layout-1 case is checked against the same case in layout 0 (itself checked against ONNX
 * Runtime) on transposed data.
 */
async function check(c: Recurrent): Promise<void> {
  const base = { ...c, layout: 0 };
  const bytes = model(base);
  const onnxTypes: Record<string, number> = c.runtimeLens ? { lens: I32 } : {};
  const feeds = seededInputs(importOnnx(bytes));
  if (c.runtimeLens) feeds['lens'] = tensorData('i32', [c.batch], c.runtimeLens);
  const graph = await expectSameAsOrt(bytes, { onnxTypes, inputs: feeds });
  if (c.layout !== 1) return;
  const swapped = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, ['X', 'h0', 'c0'].includes(k) ? relayout(v) : v]));
  const want = runOnCpu(graph, feeds);
  const got = runOnCpu(importOnnx(model(c)), swapped);
  for (const [name, t] of Object.entries(want)) {
    const expected = name === 'Y' ? relayout(t, true) : relayout(t);
    expect([...got[name]!.shape], name).toEqual([...expected.shape]);
    expect(Array.from(got[name]!.data as Float32Array), name).toEqual(Array.from(expected.data as Float32Array));
  }
}

describe('RNN', () => {
  it('forward, defaults, every output', () => check({ op: 'RNN', seq: 4, batch: 2, input: 3, hidden: 5 }));
  it('bidirectional with bias, initial state and ragged sequence lengths', () => check({
    op: 'RNN', seq: 5, batch: 3, input: 2, hidden: 4, dirs: 2, bias: true, initial: true, lens: [5, 2, 3],
  }));
  it('reverse, layout 1, Relu with clip', () => check({
    op: 'RNN', seq: 3, batch: 2, input: 3, hidden: 3, layout: 1, bias: true,
    attrs: { direction: attr.s('reverse'), activations: attr.strings(['Relu']), clip: attr.f(0.5) },
  }));
  it('activations taking alpha and beta, consumed in order (bidirectional)', () => check({
    op: 'RNN', seq: 3, batch: 2, input: 3, hidden: 3, dirs: 2,
    attrs: { activations: attr.strings(['LeakyRelu', 'HardSigmoid']), activation_alpha: attr.floats([0.3, 0.4]), activation_beta: attr.floats([0.6]) },
  }));
  for (const act of ['Tanh', 'Sigmoid', 'Affine', 'ThresholdedRelu', 'ScaledTanh', 'Elu', 'Softsign', 'Softplus', 'LeakyRelu', 'HardSigmoid']) {
    it(`activation ${act}`, () => check({
      op: 'RNN', seq: 3, batch: 2, input: 3, hidden: 3,
      attrs: { activations: attr.strings([act]), ...(['Affine', 'ScaledTanh', 'ThresholdedRelu'].includes(act) ? { activation_alpha: attr.floats([0.3]), activation_beta: attr.floats([0.2]) } : {}) },
    }));
  }
  it('refuses Affine without its alpha and beta (their defaults are not agreed on)', () => {
    expect(() => importOnnx(model({ op: 'RNN', seq: 2, batch: 1, input: 2, hidden: 2, attrs: { activations: attr.strings(['Affine']) } })))
      .toThrow(/activation 'Affine' needs its alpha and beta given/);
  });
});

describe('GRU', () => {
  it('forward, defaults', () => check({ op: 'GRU', seq: 4, batch: 2, input: 3, hidden: 5, bias: true }));
  it('linear_before_reset, reverse, initial state', () => check({
    op: 'GRU', seq: 4, batch: 2, input: 3, hidden: 3, bias: true, initial: true,
    attrs: { linear_before_reset: attr.i(1), direction: attr.s('reverse') },
  }));
  it('bidirectional, layout 1, sequence lengths, clip', () => check({
    op: 'GRU', seq: 4, batch: 3, input: 2, hidden: 3, dirs: 2, layout: 1, bias: true, initial: true, lens: [1, 4, 2],
    attrs: { clip: attr.f(0.7) },
  }));
  it('sequence lengths given at run time', () => check({
    op: 'GRU', seq: 4, batch: 3, input: 2, hidden: 3, dirs: 2, bias: true, runtimeLens: [3, 1, 4],
  }));
  it('only Y_h', () => check({ op: 'GRU', seq: 3, batch: 1, input: 2, hidden: 4, outputs: ['Y_h'] }));
});

describe('LSTM', () => {
  it('forward, defaults, every output', () => check({ op: 'LSTM', seq: 4, batch: 2, input: 3, hidden: 5 }));
  it('bidirectional with bias, initial states, peepholes and ragged lengths', () => check({
    op: 'LSTM', seq: 5, batch: 3, input: 2, hidden: 3, dirs: 2, bias: true, initial: true, peepholes: true, lens: [2, 5, 4],
  }));
  it('layout 1, reverse, clip, input_forget, peepholes', () => check({
    op: 'LSTM', seq: 3, batch: 2, input: 3, hidden: 4, layout: 1, bias: true, initial: true, peepholes: true,
    attrs: { direction: attr.s('reverse'), clip: attr.f(0.4), input_forget: attr.i(1) },
  }));
  it('other activations (f, g, h per direction)', () => check({
    op: 'LSTM', seq: 3, batch: 2, input: 2, hidden: 3, dirs: 2, bias: true,
    attrs: { activations: attr.strings(['HardSigmoid', 'Softsign', 'Relu', 'Sigmoid', 'Tanh', 'Elu']), activation_alpha: attr.floats([0.3, 0.9]), activation_beta: attr.floats([0.4]) },
  }));
  it('sequence lengths given at run time, only Y_c', () => check({
    op: 'LSTM', seq: 3, batch: 2, input: 2, hidden: 3, bias: true, runtimeLens: [1, 3], outputs: ['Y_c'],
  }));
});

describe('unrolled recurrences on WebGPU', () => {
  const gpu = useGpu();
  // One program for batches of 1 to 4: the steps unrolled, the batch a size the kernels take at run time.
  for (const op of ['LSTM', 'GRU'] as const) {
    it(`a ${op} whose batch varies (sequence lengths given at run time) equals ONNX Runtime at each batch`, async () => {
      const [seq, input, hidden, g] = [4, 3, 5, GATES[op]];
      const names = ['X', 'W', 'R', 'B', 'lens', 'h0', ...(op === 'LSTM' ? ['c0'] : [])];
      const bytes = buildModel({
        opset: 14,
        inputs: [
          { name: 'X', dims: [seq, 'N', input] }, { name: 'W', dims: [1, g * hidden, input] }, { name: 'R', dims: [1, g * hidden, hidden] },
          { name: 'B', dims: [1, 2 * g * hidden] }, { name: 'lens', dims: ['N'], type: I32 },
          ...names.slice(5).map((name) => ({ name, dims: [1, 'N', hidden] })),
        ],
        outputs: [{ name: 'Y' }, { name: 'Y_h' }],
        nodes: [node(op, names, ['Y', 'Y_h'], { hidden_size: attr.i(hidden) })],
      });
      const shapesAt = (n: number | string) => Object.fromEntries([['X', [seq, n, input]], ['lens', [n]], ...names.slice(5).map((name) => [name, [1, n, hidden]])]);
      const program = compileSegmented(importOnnx(bytes, { inputShapes: shapesAt('N<=4') }));
      const session = await SegmentedSession.create(gpu(), program);
      try {
        for (const [batch, lens] of [[3, [4, 2, 1]], [1, [3]]] as const) {
          const fixed = importOnnx(bytes, { inputShapes: shapesAt(batch) });
          const feeds = { ...seededInputs(fixed, batch), lens: tensorData('i32', [batch], [...lens]) };
          const theirs = await runOrt(bytes, feeds, { lens: I32 });
          const ours = await session.run(feeds);
          theirs.forEach((t) => {
            expect([...ours[t.name]!.shape], t.name).toEqual(t.dims);
            expectClose(ours[t.name]!, tensorData('f32', t.dims, t.values), 1e-5, 1e-4);
          });
        }
      } finally {
        session.destroy();
      }
    });
  }
  // 12 steps: Y concatenates more steps than one kernel binds, so it is written by copies.
  it('a bidirectional LSTM with ragged lengths matches the CPU reference', async () => {
    const c: Recurrent = { op: 'LSTM', seq: 12, batch: 3, input: 5, hidden: 8, dirs: 2, bias: true, initial: true, peepholes: true, lens: [12, 7, 3] };
    const graph = importOnnx(model(c));
    const feeds = seededInputs(graph, 5);
    const want = runOnCpu(graph, feeds);
    const session = await SegmentedSession.create(gpu(), compileSegmented(importOnnx(model(c))));
    try {
      const got = await session.run(feeds);
      session.program.outputs.forEach((name, i) => expectClose(got[name]!, want[graph.outputs[i]!.name]!, 1e-5, 1e-4));
    } finally {
      session.destroy();
    }
  });
});
