import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/ir/graph.js';
import type { Attrs } from '../../../src/ir/attrs.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import type { Shape } from '../../../src/ir/types.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { randomData } from '../../helpers/compare.js';

/** Runs one node on the CPU reference. */
function run(op: string, inputs: TensorData[], attrs: Attrs = {}): TensorData {
  const g = new Graph(op);
  const xs = inputs.map((t, i) => g.addInput(`in${i}`, { dtype: t.dtype, shape: t.shape, device: 'cpu' }));
  g.setOutputs([g.addNode(op, xs, attrs).output]);
  return runOnCpu(g, Object.fromEntries(inputs.map((t, i) => [`in${i}`, t])))[g.outputs[0]!.name]!;
}

const dot = (a: TensorData, b: TensorData) => Array.from(a.data as Float32Array).reduce((s, v, i) => s + v * (b.data[i] as number), 0);
const f32 = (shape: Shape, values: number[]) => tensorData('f32', shape, values);

describe('conv2d_backward_weight (CPU reference)', () => {
  it('sums the input windows a 2x2 kernel sees, for a gradient of ones', () => {
    const x = f32([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const dy = f32([1, 1, 2, 2], [1, 1, 1, 1]);
    const dw = run('conv2d_backward_weight', [x, dy], { kernel_size: [2, 2] });
    expect(dw.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(dw.data)).toEqual([12, 16, 24, 28]);
  });

  it('stride 2 with padding: only the taps that hit the input count', () => {
    // x is 1..4 in a 2x2 plane; a 3x3 kernel, padding 1, stride 2 gives one output (centred at x[0,0]).
    const x = f32([1, 1, 2, 2], [1, 2, 3, 4]);
    const dy = f32([1, 1, 1, 1], [2]);
    const dw = run('conv2d_backward_weight', [x, dy], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] });
    expect(Array.from(dw.data)).toEqual([0, 0, 0, 0, 2, 4, 0, 6, 8]);
  });

  it('is the adjoint of conv2d in its weight: <conv2d(x, w), dy> = <w, dw(x, dy)> (groups, stride, dilation, padding)', () => {
    const rng = new Random(3);
    const attrs = { stride: [2, 1], padding: [1, 0, 2, 1], dilation: [1, 2], groups: 2 };
    const x = randomData('f32', [2, 4, 7, 8], rng);
    const w = randomData('f32', [6, 2, 3, 2], rng);
    const y = run('conv2d', [x, w], attrs);
    const dy = randomData('f32', y.shape, rng);
    const dw = run('conv2d_backward_weight', [x, dy], { ...attrs, kernel_size: [3, 2] });
    expect(dot(dw, w)).toBeCloseTo(dot(y, dy), 3);
  });

  it('rejects an output gradient whose shape the convolution cannot produce', () => {
    const x = f32([1, 1, 3, 3], new Array(9).fill(0));
    expect(() => run('conv2d_backward_weight', [x, f32([1, 1, 3, 3], new Array(9).fill(0))], { kernel_size: [2, 2] }))
      .toThrow(/gives 2x2 outputs, but the output gradient is \[1,1,3,3\]/);
  });
});

describe('max_pool2d_backward (CPU reference)', () => {
  it('routes each gradient to its window winner; ties go to the first maximum', () => {
    const x = f32([1, 1, 2, 4], [1, 5, 2, 2, 3, 4, 2, 0]);
    const dy = f32([1, 1, 1, 2], [10, 20]);
    expect(Array.from(run('max_pool2d_backward', [x, dy], { kernel_size: [2, 2] }).data)).toEqual([0, 10, 20, 0, 0, 0, 0, 0]);
  });

  it('adds the gradients of overlapping windows won by one element', () => {
    const x = f32([1, 1, 1, 4], [1, 3, 2, 0]);
    const dy = f32([1, 1, 1, 3], [1, 2, 4]);
    expect(Array.from(run('max_pool2d_backward', [x, dy], { kernel_size: [1, 2], stride: [1, 1] }).data)).toEqual([0, 3, 4, 0]);
  });

  it('never routes to padding, even when every input in a window is negative', () => {
    const x = f32([1, 1, 2, 2], [-4, -3, -2, -1]);
    const dy = f32([1, 1, 2, 2], [1, 1, 1, 1]);
    // 2x2 windows at stride 1 with padding 1 (top/left): each window's maximum is an input element.
    const dx = run('max_pool2d_backward', [x, dy], { kernel_size: [2, 2], stride: [1, 1], padding: [1, 1, 0, 0] });
    expect(Array.from(dx.data)).toEqual([1, 1, 1, 1]);
  });
});
