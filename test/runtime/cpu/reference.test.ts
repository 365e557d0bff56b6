import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import type { Attrs } from '../../../src/ir/attrs.js';

// The reference kernels are the oracle for every GPU test, so they are checked by hand here.
function run1(op: string, inputs: { shape: number[]; values: number[] }[], attrs: Attrs = {}, dtype: 'f32' | 'i32' = 'f32') {
  const g = new Graph(op);
  const vs = inputs.map((x, i) => g.addInput(`x${i}`, { dtype, shape: x.shape, device: 'cpu' }));
  const out = g.addNode(op, vs, attrs).output;
  g.setOutputs([out]);
  const feeds = Object.fromEntries(inputs.map((x, i) => [`x${i}`, tensorData(dtype, x.shape, x.values)]));
  const r = runOnCpu(g, feeds)[out.name]!;
  return { shape: [...r.shape], values: Array.from(r.data as ArrayLike<number>) };
}

describe('CPU reference kernels', () => {
  it('broadcast add of a column and a row', () => {
    expect(run1('add', [{ shape: [2, 1], values: [10, 20] }, { shape: [3], values: [1, 2, 3] }]))
      .toEqual({ shape: [2, 3], values: [11, 12, 13, 21, 22, 23] });
  });
  it('integer division truncates toward zero', () => {
    expect(run1('div', [{ shape: [4], values: [7, -7, 7, -7] }, { shape: [4], values: [2, 2, -2, -2] }], {}, 'i32').values)
      .toEqual([3, -3, -3, 3]);
  });
  it('relu', () => {
    expect(run1('relu', [{ shape: [4], values: [-1, 0, 2, -0.5] }]).values).toEqual([0, 0, 2, 0]);
  });
  it('matmul 2x3 by 3x2', () => {
    expect(run1('matmul', [{ shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }, { shape: [3, 2], values: [7, 8, 9, 10, 11, 12] }]))
      .toEqual({ shape: [2, 2], values: [58, 64, 139, 154] });
  });
  it('batched matmul broadcasts the batch of B', () => {
    const r = run1('matmul', [
      { shape: [2, 1, 2], values: [1, 2, 3, 4] },
      { shape: [2, 1], values: [10, 100] },
    ]);
    expect(r).toEqual({ shape: [2, 1, 1], values: [210, 430] });
  });
  it('sum and mean over axes with keepdims', () => {
    const x = { shape: [2, 3], values: [1, 2, 3, 4, 5, 6] };
    expect(run1('sum', [x], { axes: [1] })).toEqual({ shape: [2], values: [6, 15] });
    expect(run1('sum', [x], { axes: [0], keepdims: true })).toEqual({ shape: [1, 3], values: [5, 7, 9] });
    expect(run1('mean', [x])).toEqual({ shape: [], values: [3.5] });
  });
  it('transpose with a permutation', () => {
    expect(run1('transpose', [{ shape: [1, 2, 3], values: [1, 2, 3, 4, 5, 6] }], { perm: [2, 0, 1] }))
      .toEqual({ shape: [3, 1, 2], values: [1, 4, 2, 5, 3, 6] });
  });
  it('reshape infers -1', () => {
    expect(run1('reshape', [{ shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }], { shape: [3, -1] }).shape).toEqual([3, 2]);
  });
  it('rejects inputs of the wrong shape, naming the input', () => {
    const g = new Graph('g');
    const x = g.addInput('x', { dtype: 'f32', shape: [2], device: 'cpu' });
    g.setOutputs([g.addNode('relu', [x]).output]);
    expect(() => runOnCpu(g, { x: tensorData('f32', [3], [1, 2, 3]) })).toThrow(/input 'x' expects f32\[2\], got f32\[3\]/);
  });
});
