import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import type { Attrs } from '../../../src/ir/attrs.js';
import { fromF16Array, toF16Array } from '../../../src/ir/f16.js';

// Hand-checked answers for the reference kernels of reductions, softmax, normalisations and
// gemm: they are the oracle of every GPU test, so their semantics are pinned down here.
type In = { shape: number[]; values: number[] };
function run1(op: string, inputs: In[], attrs: Attrs = {}, dtype: 'f32' | 'i32' | 'u32' = 'f32') {
  const g = new Graph(op);
  const vs = inputs.map((x, i) => g.addInput(`x${i}`, { dtype, shape: x.shape, device: 'cpu' }));
  const out = g.addNode(op, vs, attrs).output;
  g.setOutputs([out]);
  const feeds = Object.fromEntries(inputs.map((x, i) => [`x${i}`, tensorData(dtype, x.shape, x.values)]));
  const r = runOnCpu(g, feeds)[out.name]!;
  return { dtype: r.dtype, shape: [...r.shape], values: Array.from(r.data as ArrayLike<number>) };
}

function expectValuesClose(got: number[], want: number[], digits = 6): void {
  expect(got.length).toBe(want.length);
  got.forEach((x, i) => expect(x, `element ${i}`).toBeCloseTo(want[i]!, digits));
}

const m23 = { shape: [2, 3], values: [1, 5, -2, 4, 0, 7] };

describe('max and min', () => {
  it('over one axis, all axes, with keepdims', () => {
    expect(run1('max', [m23], { axes: [1] })).toEqual({ dtype: 'f32', shape: [2], values: [5, 7] });
    expect(run1('min', [m23], { axes: [0], keepdims: true })).toEqual({ dtype: 'f32', shape: [1, 3], values: [1, 0, -2] });
    expect(run1('max', [m23])).toEqual({ dtype: 'f32', shape: [], values: [7] });
    expect(run1('min', [m23], { axes: [-1, 0], keepdims: true })).toEqual({ dtype: 'f32', shape: [1, 1], values: [-2] });
  });
  it('on integers beyond f32 precision, and on u32', () => {
    const big = { shape: [3], values: [2 ** 30 + 1, 2 ** 30 + 3, -(2 ** 31)] };
    expect(run1('max', [big], {}, 'i32').values).toEqual([2 ** 30 + 3]);
    expect(run1('min', [big], {}, 'i32').values).toEqual([-(2 ** 31)]);
    expect(run1('max', [{ shape: [2], values: [3, 2 ** 32 - 2] }], {}, 'u32').values).toEqual([2 ** 32 - 2]);
  });
});

describe('f16 tensors (stored as bits on the host)', () => {
  /** Runs `op` on one f16 input given as values; returns the output decoded. */
  function runF16(op: string, shape: number[], values: number[], attrs: Attrs = {}) {
    const g = new Graph(op);
    const x = g.addInput('x', { dtype: 'f16', shape, device: 'cpu' });
    const out = g.addNode(op, [x], attrs).output;
    g.setOutputs([out]);
    const r = runOnCpu(g, { x: tensorData('f16', shape, toF16Array(values)) })[out.name]!;
    return r.dtype === 'f16' ? Array.from(fromF16Array(r.data as Uint16Array)) : Array.from(r.data as ArrayLike<number>);
  }
  it('are read as their values and written back as f16', () => {
    expect(runF16('max', [3], [1, 2.5, -3])).toEqual([2.5]);
    expect(runF16('sum', [2, 2], [0.5, 0.25, 1, 2], { axes: [1] })).toEqual([0.75, 3]);
    expect(runF16('argmin', [3], [1, 2.5, -3], { axis: 0 })).toEqual([2]);
    expect(runF16('softmax', [2], [7, 7])).toEqual([0.5, 0.5]);
  });
});

describe('argmax and argmin', () => {
  it('return i32 indices along one axis, negative axes and keepdims', () => {
    expect(run1('argmax', [m23], { axis: 1 })).toEqual({ dtype: 'i32', shape: [2], values: [1, 2] });
    expect(run1('argmin', [m23], { axis: 0 })).toEqual({ dtype: 'i32', shape: [3], values: [0, 1, 0] });
    expect(run1('argmax', [m23], { axis: -2, keepdims: true })).toEqual({ dtype: 'i32', shape: [1, 3], values: [1, 0, 1] });
  });
  it('pick the first index on ties', () => {
    const ties = { shape: [2, 4], values: [3, 9, 9, 1, -5, -5, -5, -5] };
    expect(run1('argmax', [ties], { axis: 1 }).values).toEqual([1, 0]);
    expect(run1('argmin', [ties], { axis: 1 }).values).toEqual([3, 0]);
    expect(run1('argmax', [{ shape: [2, 2], values: [4, 4, 4, 4] }], { axis: 0 }).values).toEqual([0, 0]);
  });
  it('reject a missing axis and an empty axis', () => {
    expect(() => run1('argmax', [m23])).toThrow(/needs the attribute 'axis'/);
    expect(() => run1('argmax', [{ shape: [2, 0], values: [] }], { axis: 1 })).toThrow(/axis 1 of f32\[2,0\] is empty/);
  });
});

describe('softmax and log_softmax', () => {
  it('of a row with known answers, stable for large inputs', () => {
    expectValuesClose(run1('softmax', [{ shape: [3], values: [0, Math.log(2), Math.log(3)] }]).values, [1 / 6, 2 / 6, 3 / 6]);
    expectValuesClose(run1('softmax', [{ shape: [2], values: [1000, 1000] }]).values, [0.5, 0.5]);
    expectValuesClose(run1('log_softmax', [{ shape: [2], values: [1000, 1000] }]).values, [-Math.LN2, -Math.LN2]);
  });
  it('along an axis that is not the last (strided rows)', () => {
    const x = { shape: [2, 2], values: [0, 5, Math.log(3), 5] };
    expectValuesClose(run1('softmax', [x], { axis: 0 }).values, [0.25, 0.5, 0.75, 0.5]);
    expectValuesClose(run1('log_softmax', [x], { axis: 0 }).values, [Math.log(0.25), -Math.LN2, Math.log(0.75), -Math.LN2]);
  });
});

describe('layer_norm', () => {
  const inv = 1 / Math.sqrt(1.25);
  it('normalises the last axis with the biased variance', () => {
    const r = run1('layer_norm', [{ shape: [1, 4], values: [1, 2, 3, 4] }], { epsilon: 0 });
    expectValuesClose(r.values, [-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv]);
  });
  it('over several trailing axes, with a weight and bias broadcast over them', () => {
    const x = { shape: [2, 2, 2], values: [1, 2, 3, 4, 10, 10, 10, 10] };
    const r = run1('layer_norm', [x, { shape: [2], values: [2, -1] }, { shape: [1], values: [0.5] }], { axis: 1, epsilon: 0.25 });
    const i2 = 1 / Math.sqrt(1.25 + 0.25);
    expectValuesClose(r.values, [-1.5 * i2 * 2 + 0.5, -0.5 * i2 * -1 + 0.5, 0.5 * i2 * 2 + 0.5, 1.5 * i2 * -1 + 0.5, 0.5, 0.5, 0.5, 0.5]);
  });
  it('rejects a weight that does not cover the normalised dimensions', () => {
    expect(() => run1('layer_norm', [{ shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }, { shape: [2], values: [1, 1] }]))
      .toThrow(/weight f32\[2\] does not broadcast to the normalised shape \[3\]/);
  });
});

describe('batch_norm', () => {
  const params = (c: number[][]) => c.map((values) => ({ shape: [values.length], values }));
  // Channel 0: (x - 1) / sqrt(4) * 2 + 0 = x - 1; channel 1: (x - 0) / sqrt(1) * 1 + 10.
  const p = params([[2, 1], [0, 10], [1, 0], [4 - 1e-5, 1 - 1e-5]]);
  it('rank 2: [N, C]', () => {
    expectValuesClose(run1('batch_norm', [{ shape: [2, 2], values: [3, 5, 7, 9] }, ...p]).values, [2, 15, 6, 19], 5);
  });
  it('rank 4: parameters align with dimension 1, not the last', () => {
    const x = { shape: [1, 2, 1, 3], values: [1, 2, 3, 1, 2, 3] };
    expectValuesClose(run1('batch_norm', [x, ...p]).values, [0, 1, 2, 11, 12, 13], 5);
  });
  it('rejects parameters that are not one per channel', () => {
    expect(() => run1('batch_norm', [{ shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }, ...p])).toThrow(/scale must be \[3\]/);
  });
});

describe('gemm', () => {
  const a = { shape: [2, 3], values: [1, 2, 3, 4, 5, 6] };
  const b = { shape: [3, 2], values: [7, 8, 9, 10, 11, 12] };
  // A @ B = [[58, 64], [139, 154]]
  it('plain, with alpha, and with beta * C broadcast as a row, a column and a scalar', () => {
    expect(run1('gemm', [a, b]).values).toEqual([58, 64, 139, 154]);
    expect(run1('gemm', [a, b, { shape: [2], values: [1, 2] }], { alpha: 0.5, beta: 2 }).values).toEqual([31, 36, 71.5, 81]);
    expect(run1('gemm', [a, b, { shape: [2, 1], values: [1, 2] }]).values).toEqual([59, 65, 141, 156]);
    expect(run1('gemm', [a, b, { shape: [], values: [100] }], { beta: -1 }).values).toEqual([-42, -36, 39, 54]);
  });
  it('transposes A and B', () => {
    const at = { shape: [3, 2], values: [1, 4, 2, 5, 3, 6] };
    const bt = { shape: [2, 3], values: [7, 9, 11, 8, 10, 12] };
    expect(run1('gemm', [at, b], { trans_a: true })).toMatchObject({ shape: [2, 2], values: [58, 64, 139, 154] });
    expect(run1('gemm', [a, bt], { trans_b: true }).values).toEqual([58, 64, 139, 154]);
    expect(run1('gemm', [at, bt], { trans_a: true, trans_b: true }).values).toEqual([58, 64, 139, 154]);
  });
  it('checks inner dimensions and C', () => {
    expect(() => run1('gemm', [a, a])).toThrow(/inner dimensions differ: op\(A\) is \[2,3\] and op\(B\) is \[2,3\]/);
    expect(() => run1('gemm', [a, b, { shape: [3], values: [1, 2, 3] }])).toThrow(/C f32\[3\] does not broadcast to the result \[2,2\]/);
  });
});
