import { describe, expect, it } from 'vitest';
import { foldBatchNorm } from '../../src/passes/fold-batchnorm.js';
import { deadCodeElimination } from '../../src/passes/dce.js';
import { expectPass, ir } from './helpers.js';
import { Graph, type Value } from '../../src/ir/graph.js';
import { parseGraph } from '../../src/ir/parser.js';
import { verify } from '../../src/ir/verify.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { numel, type Shape } from '../../src/ir/types.js';
import type { Attrs } from '../../src/ir/attrs.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Random } from '../../src/frontend/torch/random.js';
import { expectClose, randomData } from '../helpers/compare.js';

describe('fold-batchnorm', () => {
  // s = scale / sqrt(var + 1) = [1, 1]: the weights stay as they are, the bias becomes b + t.
  it('folds batch_norm into the conv2d before it', () => {
    expectPass(foldBatchNorm, `
      graph g(%x: f32[1,1,2,2] @webgpu) -> (f32[1,2,2,2] @webgpu) {
        %w = const() {value = [1, 2]} : f32[2,1,1,1] @webgpu
        %b = const() {value = [0.5, -1]} : f32[2] @webgpu
        %scale = const() {value = [2, 3]} : f32[2] @webgpu
        %beta = const() {value = [1, 0]} : f32[2] @webgpu
        %mean = const() {value = [0.5, 1]} : f32[2] @webgpu
        %var = const() {value = [3, 8]} : f32[2] @webgpu
        %0 = conv2d(%x, %w, %b) : f32[1,2,2,2] @webgpu
        %1 = batch_norm(%0, %scale, %beta, %mean, %var) {epsilon = 1} : f32[1,2,2,2] @webgpu
        return %1
      }`, `
      graph g(%x: f32[1,1,2,2] @webgpu) -> (f32[1,2,2,2] @webgpu) {
        %w = const() {value = [1, 2]} : f32[2,1,1,1] @webgpu
        %b = const() {value = [0.5, -1]} : f32[2] @webgpu
        %scale = const() {value = [2, 3]} : f32[2] @webgpu
        %beta = const() {value = [1, 0]} : f32[2] @webgpu
        %mean = const() {value = [0.5, 1]} : f32[2] @webgpu
        %var = const() {value = [3, 8]} : f32[2] @webgpu
        %0 = conv2d(%x, %w, %b) : f32[1,2,2,2] @webgpu
        %2 = const() {value = [1, -2]} : f32[2] @webgpu
        %1 = conv2d(%x, %w, %2) : f32[1,2,2,2] @webgpu
        return %1
      }`);
  });

  const bnParams = `
        %scale = const() {value = [4, 3]} : f32[2] @webgpu
        %beta = const() {value = [1, 0]} : f32[2] @webgpu
        %mean = const() {value = [0.5, 1]} : f32[2] @webgpu
        %var = const() {value = [3, 8]} : f32[2] @webgpu`;
  // s = scale / sqrt(var + 1) = [2, 1], t = beta - mean * s = [0, -1].

  it('folds batch_norm into a matmul and its bias add: weight columns scaled, one add left', () => {
    const before = `
      graph g(%x: f32[3,2] @webgpu) -> (f32[3,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4]} : f32[2,2] @webgpu
        %b = const() {value = [0.5, -1]} : f32[2] @webgpu${bnParams}
        %0 = matmul(%x, %w) : f32[3,2] @webgpu
        %1 = add(%0, %b) : f32[3,2] @webgpu
        %2 = batch_norm(%1, %scale, %beta, %mean, %var) {epsilon = 1} : f32[3,2] @webgpu
        return %2
      }`;
    expectPass(foldBatchNorm, before, `
      graph g(%x: f32[3,2] @webgpu) -> (f32[3,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4]} : f32[2,2] @webgpu
        %b = const() {value = [0.5, -1]} : f32[2] @webgpu${bnParams}
        %0 = matmul(%x, %w) : f32[3,2] @webgpu
        %1 = add(%0, %b) : f32[3,2] @webgpu
        %3 = const() {value = [2, 2, 6, 4]} : f32[2,2] @webgpu
        %4 = matmul(%x, %3) : f32[3,2] @webgpu
        %5 = const() {value = [1, -2]} : f32[2] @webgpu
        %2 = add(%4, %5) : f32[3,2] @webgpu
        return %2
      }`);
    expectSameResults(before, [3, 2]);
  });

  it('folds batch_norm into a gemm: rows of a transposed B scaled, C rewritten with beta = 1', () => {
    const before = `
      graph g(%x: f32[3,2] @webgpu) -> (f32[3,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4]} : f32[2,2] @webgpu
        %c = const() {value = [0.5, -1]} : f32[2] @webgpu${bnParams}
        %0 = gemm(%x, %w, %c) {beta = 2, trans_b = true} : f32[3,2] @webgpu
        %1 = batch_norm(%0, %scale, %beta, %mean, %var) {epsilon = 1} : f32[3,2] @webgpu
        return %1
      }`;
    expectPass(foldBatchNorm, before, `
      graph g(%x: f32[3,2] @webgpu) -> (f32[3,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4]} : f32[2,2] @webgpu
        %c = const() {value = [0.5, -1]} : f32[2] @webgpu${bnParams}
        %0 = gemm(%x, %w, %c) {beta = 2, trans_b = true} : f32[3,2] @webgpu
        %2 = const() {value = [2, 4, 3, 4]} : f32[2,2] @webgpu
        %3 = const() {value = [2, -3]} : f32[2] @webgpu
        %1 = gemm(%x, %2, %3) {trans_b = true} : f32[3,2] @webgpu
        return %1
      }`);
    expectSameResults(before, [3, 2]);
  });

  it('leaves a batch_norm whose producer has another reader, or whose channels are not the columns', () => {
    const shared = `
      graph g(%x: f32[3,2] @webgpu) -> (f32[3,2] @webgpu, f32[3,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4]} : f32[2,2] @webgpu${bnParams}
        %0 = matmul(%x, %w) : f32[3,2] @webgpu
        %1 = batch_norm(%0, %scale, %beta, %mean, %var) {epsilon = 1} : f32[3,2] @webgpu
        return %0, %1
      }`;
    expectPass(foldBatchNorm, shared, shared);
    const batched = `
      graph g(%x: f32[1,2,2] @webgpu) -> (f32[1,2,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4]} : f32[2,2] @webgpu${bnParams}
        %0 = matmul(%x, %w) : f32[1,2,2] @webgpu
        %1 = batch_norm(%0, %scale, %beta, %mean, %var) {epsilon = 1} : f32[1,2,2] @webgpu
        return %1
      }`;
    expectPass(foldBatchNorm, batched, batched);
  });
});

/** The folded graph computes what the original does, on random inputs (CPU reference). */
function expectSameResults(text: string, xShape: number[]): void {
  const g = parseGraph(ir(text));
  const x = randomData('f32', xShape, new Random(3));
  const want = runOnCpu(g, { x });
  const got = runOnCpu(foldBatchNorm.run(g, {}), { x });
  for (const v of g.outputs) expectClose(got[v.name]!, want[v.name]!, 1e-5, 1e-5);
}

/** What follows a conv in a chain: a per-channel constant add or mul (of the given shape), a batch_norm, or a relu. */
type Step = { op: 'add' | 'mul'; shape: Shape } | { op: 'batch_norm' | 'relu' };

/**
 * conv(x, w[, b]) followed by `steps`, with random constants (batch_norm variances positive);
 * the graph returns the last step's result, and also the results of the steps listed in `alsoOut`
 * (-1: the conv's own), which then have another reader.
 */
function convChain(op: 'conv2d' | 'conv_transpose2d', x: Shape, w: Shape, attrs: Attrs, withBias: boolean, steps: Step[], alsoOut: number[] = []): Graph {
  const rng = new Random(7);
  const g = new Graph('chain');
  const constant = (shape: Shape, gen = () => rng.normal()) =>
    g.addNode('const', [], { value: tensorData('f32', shape, Array.from({ length: numel(shape) }, gen)) }, { device: 'webgpu' }).output;
  const input = g.addInput('x', { dtype: 'f32', shape: x, device: 'webgpu' });
  const c = op === 'conv2d' ? w[0]! : w[1]! * ((attrs.groups as number | undefined) ?? 1);
  let v = g.addNode(op, [input, constant(w), ...(withBias ? [constant([c])] : [])], attrs).output;
  const results: Value[] = [v];
  for (const s of steps) {
    if (s.op === 'relu') v = g.addNode('relu', [v]).output;
    else if (s.op === 'batch_norm') {
      const params = [constant([c]), constant([c]), constant([c]), constant([c], () => rng.uniform(0.5, 2))];
      v = g.addNode('batch_norm', [v, ...params], { epsilon: 1e-5 }).output;
    } else if ('shape' in s) v = g.addNode(s.op, [v, constant(s.shape)]).output;
    results.push(v);
  }
  g.setOutputs([v, ...alsoOut.map((i) => results[i + 1]!)]);
  return g;
}

/** Folds `g` (then dce), checks the folded graph computes what `g` does on random x (CPU reference), and returns its ops. */
function foldAndCompare(g: Graph): string[] {
  verify(g);
  const folded = deadCodeElimination.run(foldBatchNorm.run(g, {}), {});
  verify(folded);
  const x = randomData('f32', g.inputs[0]!.type.shape, new Random(3));
  const want = runOnCpu(g, { x });
  const got = runOnCpu(folded, { x });
  g.outputs.forEach((v, i) => expectClose(got[folded.outputs[i]!.name]!, want[v.name]!, 1e-5, 1e-4));
  return folded.nodes.map((n) => n.op).filter((op) => op !== 'const');
}

describe('fold-batchnorm into convolutions: bias adds, muls and batch_norms after a conv fold into its weights and bias', () => {
  const perChannel = (c: number): Step => ({ op: 'add', shape: [1, c, 1, 1] });

  it('conv_transpose2d, a [1, C, 1, 1] bias add, batch_norm, relu: one conv_transpose2d with a bias, then the relu', () => {
    const g = convChain('conv_transpose2d', [1, 6, 5, 4], [6, 4, 2, 2], { stride: [2, 2] }, false, [perChannel(4), { op: 'batch_norm' }, { op: 'relu' }]);
    expect(foldAndCompare(g)).toEqual(['conv_transpose2d', 'relu']);
  });

  it('grouped conv_transpose2d (groups 3, 2 output channels per group) with its own bias, padding and dilation', () => {
    const g = convChain('conv_transpose2d', [2, 6, 4, 5], [6, 2, 3, 3], { groups: 3, stride: [2, 1], padding: [1, 0, 1, 1], dilation: [1, 2] }, true,
      [perChannel(6), { op: 'batch_norm' }]);
    expect(foldAndCompare(g)).toEqual(['conv_transpose2d']);
  });

  it('bias-less conv_transpose2d and batch_norm alone; a scalar bias add alone leaves the weights as they are', () => {
    expect(foldAndCompare(convChain('conv_transpose2d', [1, 3, 4, 4], [3, 5, 3, 3], { stride: [2, 2], padding: [1, 1, 1, 1] }, false,
      [{ op: 'batch_norm' }]))).toEqual(['conv_transpose2d']);
    const g = convChain('conv_transpose2d', [1, 4, 3, 3], [4, 1, 2, 2], { stride: [2, 2] }, false, [{ op: 'add', shape: [1, 1, 1, 1] }]);
    const folded = deadCodeElimination.run(foldBatchNorm.run(g, {}), {});
    expect(folded.nodes.find((n) => n.op === 'conv_transpose2d')!.inputs[1]).toBe(folded.nodes.find((n) => n.op === 'const')!.output);
    expect(foldAndCompare(g)).toEqual(['conv_transpose2d']);
  });

  it('conv2d (grouped) with a [C, 1, 1] bias add, a per-channel mul and a batch_norm', () => {
    const g = convChain('conv2d', [1, 4, 6, 6], [6, 2, 3, 3], { groups: 2, padding: [1, 1, 1, 1] }, true,
      [{ op: 'add', shape: [6, 1, 1] }, { op: 'mul', shape: [1, 6, 1, 1] }, { op: 'batch_norm' }]);
    expect(foldAndCompare(g)).toEqual(['conv2d']);
  });

  it('an intermediate with another reader stops the fold there', () => {
    // The conv's result is an output too: nothing folds.
    const shared = convChain('conv_transpose2d', [1, 3, 4, 4], [3, 2, 2, 2], { stride: [2, 2] }, false, [perChannel(2), { op: 'batch_norm' }], [-1]);
    expect(foldAndCompare(shared)).toEqual(['conv_transpose2d', 'add', 'batch_norm']);
    // The bias add's result is an output too: the add folds, the batch_norm stays after the conv.
    const sharedAdd = convChain('conv_transpose2d', [1, 3, 4, 4], [3, 2, 2, 2], { stride: [2, 2] }, false, [perChannel(2), { op: 'batch_norm' }], [0]);
    expect(foldAndCompare(sharedAdd)).toEqual(['conv_transpose2d', 'batch_norm']);
  });

  it('adds that are not per channel stay: along the width, or of a full tensor', () => {
    const alongW = convChain('conv_transpose2d', [1, 3, 4, 4], [3, 2, 2, 2], { stride: [2, 2] }, false, [{ op: 'add', shape: [8] }]);
    expect(foldAndCompare(alongW)).toEqual(['conv_transpose2d', 'add']);
    const full = convChain('conv2d', [1, 3, 4, 4], [2, 3, 1, 1], {}, false, [{ op: 'add', shape: [1, 2, 4, 4] }]);
    expect(foldAndCompare(full)).toEqual(['conv2d', 'add']);
  });
});
