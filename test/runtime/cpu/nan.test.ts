// NaN in, NaN out: the CPU reference against hand-written expectations (IEEE 754, ONNX's
// reference implementation and PyTorch agree on each of these).
import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../../src/ir/attrs.js';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import type { Shape } from '../../../src/ir/types.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';

/** Runs one node on the CPU reference and returns its output's values. */
function run(op: string, inputs: TensorData[], attrs: Attrs = {}): number[] {
  const g = new Graph(op);
  const xs = inputs.map((t, i) => g.addInput(`in${i}`, { dtype: t.dtype, shape: t.shape, device: 'cpu' }));
  g.setOutputs([g.addNode(op, xs, attrs).output]);
  return Array.from(runOnCpu(g, Object.fromEntries(inputs.map((t, i) => [`in${i}`, t])))[g.outputs[0]!.name]!.data, Number);
}

const f32 = (values: number[], shape: Shape = [values.length]) => tensorData('f32', shape, values);

describe('NaN propagates through the CPU reference', () => {
  it('activations: relu, leaky_relu, clip, hardsigmoid, hardswish, and the smooth ones', () => {
    const x = f32([NaN, -2, 0.5, 3]);
    expect(run('relu', [x])).toEqual([NaN, 0, 0.5, 3]);
    expect(run('leaky_relu', [x], { alpha: 0.5 })).toEqual([NaN, -1, 0.5, 3]);
    expect(run('clip', [x], { min: -1, max: 1 })).toEqual([NaN, -1, 0.5, 1]);
    expect(run('clip', [x], { min: 0, max: 6 })).toEqual([NaN, 0, 0.5, 3]);
    expect(run('hardsigmoid', [x], { alpha: 0.5, beta: 0.5 })).toEqual([NaN, 0, 0.75, 1]);
    expect(run('hardswish', [x])[0]).toBeNaN();
    for (const op of ['sigmoid', 'silu', 'tanh', 'softplus', 'gelu', 'erf', 'exp', 'abs', 'neg']) {
      expect(run(op, [x])[0], op).toBeNaN();
    }
  });

  it('maximum and minimum give NaN when either operand is NaN', () => {
    const a = f32([NaN, 1, NaN, 2]);
    const b = f32([1, NaN, NaN, -3]);
    expect(run('maximum', [a, b])).toEqual([NaN, NaN, NaN, 2]);
    expect(run('minimum', [a, b])).toEqual([NaN, NaN, NaN, -3]);
  });

  it('comparisons are IEEE: NaN compares false, and not equal to itself', () => {
    const a = f32([NaN, NaN, 1]);
    const b = f32([NaN, 1, NaN]);
    for (const op of ['equal', 'less', 'less_equal', 'greater', 'greater_equal']) expect(run(op, [a, b]), op).toEqual([0, 0, 0]);
    expect(run('not_equal', [a, b])).toEqual([1, 1, 1]);
  });

  it('max and min reductions give NaN for a row holding one, wherever it is; sum and mean too', () => {
    const x = f32([NaN, 1, 3, 1, NaN, 3, 1, 2, 3], [3, 3]);
    expect(run('max', [x], { axes: [1] })).toEqual([NaN, NaN, 3]);
    expect(run('min', [x], { axes: [1] })).toEqual([NaN, NaN, 1]);
    expect(run('max', [x], { axes: [0] })).toEqual([NaN, NaN, 3]);
    expect(run('sum', [x], { axes: [1] })).toEqual([NaN, NaN, 6]);
    expect(run('mean', [x], { axes: [1] })).toEqual([NaN, NaN, 2]);
  });

  it('argmax and argmin take NaN as the extreme (its first index, or its last with select_last_index)', () => {
    const x = f32([1, NaN, 3, NaN, 2, 5, 5, 1, 4, 1, 1, 9], [3, 4]);
    expect(run('argmax', [x], { axis: 1 })).toEqual([1, 1, 3]);
    expect(run('argmax', [x], { axis: 1, select_last_index: true })).toEqual([3, 2, 3]);
    expect(run('argmin', [x], { axis: 1 })).toEqual([1, 3, 1]);
    expect(run('argmin', [x], { axis: 1, select_last_index: true })).toEqual([3, 3, 2]);
    expect(run('argmax', [x], { axis: 0 })).toEqual([2, 0, 1, 0]);
    expect(run('argmax', [x], { axis: 0, select_last_index: true })).toEqual([2, 0, 1, 0]);
    const ints = tensorData('i32', [5], [2, 7, 7, -1, 7]);
    expect(run('argmax', [ints], { axis: 0 })).toEqual([1]);
    expect(run('argmax', [ints], { axis: 0, select_last_index: true })).toEqual([4]);
  });

  it('max pooling: a window holding NaN gives NaN', () => {
    const x = f32([NaN, 1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 3, 3]);
    expect(run('max_pool2d', [x], { kernel_size: [2, 2], stride: [1, 1] })).toEqual([NaN, 5, 7, 8]);
  });

  it('the max pooling gradient goes to the last NaN of a window (the one PyTorch records)', () => {
    const x = f32([NaN, 1, 2, NaN, 4, 5, 6, 7, 8], [1, 1, 3, 3]);
    const dy = f32([1, 10, 100, 1000], [1, 1, 2, 2]);
    expect(run('max_pool2d_backward', [x, dy], { kernel_size: [2, 2], stride: [1, 1] })).toEqual([0, 0, 0, 101, 0, 10, 0, 0, 1000]);
  });

  it('softmax, log_softmax and layer_norm: a NaN makes its whole row NaN, and only its row', () => {
    const x = f32([0, NaN, 1, 0, 1, 2], [2, 3]);
    const rowNaN = (v: number[]) => [v.slice(0, 3).every(Number.isNaN), v.slice(3).every(Number.isFinite)];
    expect(rowNaN(run('softmax', [x], { axis: -1 }))).toEqual([true, true]);
    expect(rowNaN(run('log_softmax', [x], { axis: -1 }))).toEqual([true, true]);
    expect(rowNaN(run('layer_norm', [x], { axis: -1 }))).toEqual([true, true]);
  });
});
