import { describe, expect, it } from 'vitest';
import { passContext } from '../../src/compiler.js';
import { Random } from '../../src/frontend/torch/random.js';
import { parseGraph } from '../../src/ir/parser.js';
import { verify } from '../../src/ir/verify.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { deadCodeElimination } from '../../src/passes/dce.js';
import { runPasses } from '../../src/passes/manager.js';
import { rowBlocks, splitWeights } from '../../src/passes/split-weights.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { expectClose, randomData } from '../helpers/compare.js';
import { expectPass, ir } from './helpers.js';

/** Runs split-weights (then dce) at `limit` bytes per binding; checks the result on the CPU against the original. */
function splitAndCompare(text: string, inputs: Record<string, number[]>, limit: number) {
  const g = parseGraph(ir(text));
  verify(g);
  const { graph } = runPasses(g, [splitWeights, deadCodeElimination], { ...passContext(), maxStorageBindingBytes: limit }, { verifyEach: true });
  const rng = new Random(7);
  const feeds = Object.fromEntries(Object.entries(inputs).map(([name, shape]) => [name, randomData('f32', shape, rng)]));
  const want = runOnCpu(g, feeds);
  const got = runOnCpu(graph, feeds);
  for (const v of g.outputs) expectClose(got[v.name]!, want[v.name]!, 1e-5, 1e-5);
  return graph;
}

/** The values of a constant of `shape` as IR text: -0.4, -0.3, ... (flat, as the IR writes them). */
function constText(shape: number[]): string {
  const n = shape.reduce((a, b) => a * b, 1);
  return `[${Array.from({ length: n }, (_, i) => ((i % 11) - 4) / 10).join(', ')}]`;
}

const weights = (g: ReturnType<typeof parseGraph>) =>
  g.nodes.filter((n) => n.op === 'const' && n.output.type.shape.length >= 2).map((n) => [...n.output.type.shape]);

describe('split-weights', () => {
  it('splits a transposed weight [N, K] over N into row blocks and concatenates the products', () => {
    expectPass(splitWeights, `
      graph g(%x: f32[2,2] @webgpu) -> (f32[2,3] @webgpu) {
        %w = const() {value = [1, 2, 3, 4, 5, 6]} : f32[3,2] @webgpu
        %t = transpose(%w) {perm = [1, 0]} : f32[2,3] @webgpu
        %y = matmul(%x, %t) : f32[2,3] @webgpu
        return %y
      }`, `
      graph g(%x: f32[2,2] @webgpu) -> (f32[2,3] @webgpu) {
        %w = const() {value = [1, 2, 3, 4, 5, 6]} : f32[3,2] @webgpu
        %t = transpose(%w) {perm = [1, 0]} : f32[2,3] @webgpu
        %0 = const() {value = [1, 2, 3, 4]} : f32[2,2] @webgpu
        %1 = transpose(%0) {perm = [1, 0]} : f32[2,2] @webgpu
        %2 = matmul(%x, %1) : f32[2,2] @webgpu
        %3 = const() {value = [5, 6]} : f32[1,2] @webgpu
        %4 = transpose(%3) {perm = [1, 0]} : f32[2,1] @webgpu
        %5 = matmul(%x, %4) : f32[2,1] @webgpu
        %y = concat(%2, %5) {axis = 1} : f32[2,3] @webgpu
        return %y
      }`, { maxStorageBindingBytes: 16 });
  });

  it('splits a weight [K, N] over K and sums the partial products of slices of x', () => {
    expectPass(splitWeights, `
      graph g(%x: f32[1,3] @webgpu) -> (f32[1,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4, 5, 6]} : f32[3,2] @webgpu
        %y = matmul(%x, %w) : f32[1,2] @webgpu
        return %y
      }`, `
      graph g(%x: f32[1,3] @webgpu) -> (f32[1,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4, 5, 6]} : f32[3,2] @webgpu
        %0 = const() {value = [1, 2, 3, 4]} : f32[2,2] @webgpu
        %1 = slice(%x) {axes = [1], ends = [2], starts = [0]} : f32[1,2] @webgpu
        %2 = matmul(%1, %0) : f32[1,2] @webgpu
        %3 = const() {value = [5, 6]} : f32[1,2] @webgpu
        %4 = slice(%x) {axes = [1], ends = [3], starts = [2]} : f32[1,1] @webgpu
        %5 = matmul(%4, %3) : f32[1,2] @webgpu
        %y = add(%2, %5) : f32[1,2] @webgpu
        return %y
      }`, { maxStorageBindingBytes: 16 });
  });

  it('leaves weights within the limit, ops on the CPU, and weights whose single row is too large', () => {
    const text = `
      graph g(%x: f32[2,3] @webgpu, %c: f32[2,3] @cpu) -> (f32[2,2] @webgpu, f32[2,2] @cpu) {
        %w = const() {value = [1, 2, 3, 4, 5, 6]} : f32[3,2] @webgpu
        %y = matmul(%x, %w) : f32[2,2] @webgpu
        %v = const() {value = [1, 2, 3, 4, 5, 6]} : f32[3,2] @cpu
        %z = matmul(%c, %v) : f32[2,2] @cpu
        return %y, %z
      }`;
    expectPass(splitWeights, text, text, { maxStorageBindingBytes: 24 });
    expectPass(splitWeights, text, text, { maxStorageBindingBytes: 4 });
  });

  it('computes the same as the whole weight for every split form, with uneven blocks', () => {
    const cases: [string, Record<string, number[]>][] = [
      [`graph g(%x: f32[2,3,7] @webgpu) -> (f32[2,3,5] @webgpu) {
          %w = const() {value = ${constText([5, 7])}} : f32[5,7] @webgpu
          %t = transpose(%w) {perm = [1, 0]} : f32[7,5] @webgpu
          %m = matmul(%x, %t) : f32[2,3,5] @webgpu
          %b = const() {value = [1, 2, 3, 4, 5]} : f32[5] @webgpu
          %y = add(%m, %b) : f32[2,3,5] @webgpu
          return %y
        }`, { x: [2, 3, 7] }],
      [`graph g(%x: f32[3,7] @webgpu) -> (f32[3,5] @webgpu) {
          %w = const() {value = ${constText([7, 5])}} : f32[7,5] @webgpu
          %y = matmul(%x, %w) : f32[3,5] @webgpu
          return %y
        }`, { x: [3, 7] }],
      [`graph g(%x: f32[3,7] @webgpu) -> (f32[3,5] @webgpu) {
          %w = const() {value = ${constText([5, 7])}} : f32[5,7] @webgpu
          %c = const() {value = [1, 2, 3, 4, 5]} : f32[5] @webgpu
          %y = gemm(%x, %w, %c) {trans_b = true, alpha = 0.5, beta = 2} : f32[3,5] @webgpu
          return %y
        }`, { x: [3, 7] }],
      [`graph g(%x: f32[7,3] @webgpu, %c: f32[3,1] @webgpu) -> (f32[3,5] @webgpu) {
          %w = const() {value = ${constText([7, 5])}} : f32[7,5] @webgpu
          %y = gemm(%x, %w, %c) {trans_a = true, alpha = 0.5, beta = 2} : f32[3,5] @webgpu
          return %y
        }`, { x: [7, 3], c: [3, 1] }],
      [`graph g(%x: f32[1,2,4,4] @webgpu) -> (f32[1,5,4,4] @webgpu) {
          %w = const() {value = ${constText([5, 2, 3, 3])}} : f32[5,2,3,3] @webgpu
          %b = const() {value = [1, 2, 3, 4, 5]} : f32[5] @webgpu
          %y = conv2d(%x, %w, %b) {padding = [1, 1, 1, 1]} : f32[1,5,4,4] @webgpu
          return %y
        }`, { x: [1, 2, 4, 4] }],
    ];
    const expected = [[[2, 7], [2, 7], [1, 7]], [[3, 5], [3, 5], [1, 5]], [[2, 7], [2, 7], [1, 7]], [[3, 5], [3, 5], [1, 5]], [[2, 2, 3, 3], [2, 2, 3, 3], [1, 2, 3, 3]]];
    const limits = [2 * 7 * 4, 3 * 5 * 4, 2 * 7 * 4 + 3, 3 * 5 * 4, 2 * 18 * 4];
    cases.forEach(([text, inputs], i) => {
      const out = splitAndCompare(text, inputs, limits[i]!);
      expect(weights(out)).toEqual(expected[i]);
    });
  });

  // An LLM's embedding table (151936 x 896 f32 is 544 MB) is bound by no kernel whole.
  it('splits a gather or embedding table over its rows: negative and out-of-range indices as the whole gather takes them', () => {
    for (const [op, attrs] of [['gather', ' {axis = 0}'], ['embedding', '']]) {
      const g = parseGraph(ir(`graph g(%i: i32[2,3] @webgpu) -> (f32[2,3,3] @webgpu) {
          %w = const() {value = ${constText([7, 3])}} : f32[7,3] @webgpu
          %y = ${op}(%w, %i)${attrs} : f32[2,3,3] @webgpu
          return %y
        }`));
      const { graph } = runPasses(g, [splitWeights, deadCodeElimination], { ...passContext(), maxStorageBindingBytes: 3 * 3 * 4 }, { verifyEach: true });
      expect(weights(graph)).toEqual([[3, 3], [3, 3], [1, 3]]);
      const i = tensorData('i32', [2, 3], [0, 6, 3, -1, -7, 4]);
      expect(runOnCpu(graph, { i })['y']).toEqual(runOnCpu(g, { i })['y']);
      // The GPU clamps an index past the table; the split takes it alike (the CPU reference refuses it).
      const far = runOnCpu(graph, { i: tensorData('i32', [2, 3], [9, -9, 0, 0, 0, 0]) })['y']!.data;
      expect(Array.from(far.slice(0, 6))).toEqual([...Array.from(runOnCpu(g, { i: tensorData('i32', [2, 3], [6, 0, 0, 0, 0, 0]) })['y']!.data.slice(0, 6))]);
    }
  });

  it('balances row blocks under the limit', () => {
    expect(rowBlocks(4096, 25088 * 4, 128 * 2 ** 20)).toEqual([[0, 1024], [1024, 2048], [2048, 3072], [3072, 4096]]);
    expect(rowBlocks(5, 4, 8)).toEqual([[0, 2], [2, 4], [4, 5]]);
    expect(rowBlocks(3, 16, 8)).toBeUndefined();
  });
});
