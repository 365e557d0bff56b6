import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { fromF16Array, toF16Array } from '../../../src/ir/f16.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import type { Attrs } from '../../../src/ir/attrs.js';
import { expectRoundTrip } from '../../ir/roundtrip.js';

// The convolution and pooling reference kernels are the oracle for the GPU tests, so they are
// checked here against answers worked out by hand on tiny inputs.

interface Operand { shape: number[]; values: number[] }

function run(op: string, inputs: Operand[], attrs: Attrs = {}) {
  const g = new Graph(op);
  const vs = inputs.map((x, i) => g.addInput(`x${i}`, { dtype: 'f32', shape: x.shape, device: 'cpu' }));
  const node = g.addNode(op, vs, attrs);
  g.setOutputs([node.output]);
  expectRoundTrip(g);
  const feeds = Object.fromEntries(inputs.map((x, i) => [`x${i}`, tensorData('f32', x.shape, x.values)]));
  const r = runOnCpu(g, feeds)[node.output.name]!;
  return { shape: [...r.shape], values: Array.from(r.data as Float32Array) };
}

const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

describe('conv2d reference', () => {
  const x3x3 = { shape: [1, 1, 3, 3], values: range(9) }; // [[1,2,3],[4,5,6],[7,8,9]]

  it('a 2x2 diagonal kernel sums each pixel with its lower-right neighbour; bias is added', () => {
    const w = { shape: [1, 1, 2, 2], values: [1, 0, 0, 1] };
    expect(run('conv2d', [x3x3, w])).toEqual({ shape: [1, 1, 2, 2], values: [6, 8, 12, 14] });
    expect(run('conv2d', [x3x3, w, { shape: [1], values: [10] }]).values).toEqual([16, 18, 22, 24]);
  });
  it('padding 1 with a 3x3 box counts the real pixels under each window', () => {
    const ones = { shape: [1, 1, 3, 3], values: new Array<number>(9).fill(1) };
    expect(run('conv2d', [ones, ones], { padding: [1, 1, 1, 1] }).values).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });
  it('stride 2 picks every other row and column', () => {
    const x = { shape: [1, 1, 4, 4], values: range(16, 0) };
    expect(run('conv2d', [x, { shape: [1, 1, 1, 1], values: [2] }], { stride: [2, 2] }))
      .toEqual({ shape: [1, 1, 2, 2], values: [0, 4, 16, 20] });
  });
  it('asymmetric padding pads only the given sides', () => {
    // Left padding 1: the row [1,2,3] becomes [0,1,2,3]; the kernel [1,10] gives x[i-1] + 10 x[i].
    const r = run('conv2d', [{ shape: [1, 1, 1, 3], values: [1, 2, 3] }, { shape: [1, 1, 1, 2], values: [1, 10] }], { padding: [0, 1, 0, 0] });
    expect(r).toEqual({ shape: [1, 1, 1, 3], values: [10, 21, 32] });
  });
  it('dilation 2 spaces the taps two apart', () => {
    const r = run('conv2d', [{ shape: [1, 1, 1, 5], values: [1, 2, 3, 4, 5] }, { shape: [1, 1, 1, 2], values: [1, 1] }], { dilation: [1, 2] });
    expect(r).toEqual({ shape: [1, 1, 1, 3], values: [4, 6, 8] });
    const down = run('conv2d', [{ shape: [1, 1, 5, 1], values: [1, 2, 3, 4, 5] }, { shape: [1, 1, 2, 1], values: [1, 10] }], { dilation: [2, 1] });
    expect(down).toEqual({ shape: [1, 1, 3, 1], values: [31, 42, 53] });
  });
  it('channels are summed; groups keep them apart; depthwise with a channel multiplier', () => {
    const x = { shape: [1, 2, 1, 1], values: [3, 5] };
    expect(run('conv2d', [x, { shape: [1, 2, 1, 1], values: [2, 10] }]).values).toEqual([56]);
    expect(run('conv2d', [x, { shape: [2, 1, 1, 1], values: [2, 10] }], { groups: 2 }).values).toEqual([6, 50]);
    // Output channels 0,1 read input channel 0; 2,3 read input channel 1.
    expect(run('conv2d', [x, { shape: [4, 1, 1, 1], values: [1, 2, 3, 4] }], { groups: 2 }).values).toEqual([3, 6, 15, 20]);
  });
  it('batch items are independent', () => {
    const r = run('conv2d', [{ shape: [2, 1, 1, 2], values: [1, 2, 3, 4] }, { shape: [1, 1, 1, 2], values: [1, 1] }]);
    expect(r).toEqual({ shape: [2, 1, 1, 1], values: [3, 7] });
  });
  it('computes f16 in f16 storage (decoding and rounding the bits)', () => {
    const g = new Graph('f16');
    const x = g.addInput('x', { dtype: 'f16', shape: [1, 1, 1, 2], device: 'cpu' });
    const w = g.addInput('w', { dtype: 'f16', shape: [1, 1, 1, 2], device: 'cpu' });
    const out = g.addNode('conv2d', [x, w]).output;
    g.setOutputs([out]);
    const r = runOnCpu(g, {
      x: tensorData('f16', [1, 1, 1, 2], toF16Array([1.5, 2])),
      w: tensorData('f16', [1, 1, 1, 2], toF16Array([4, 0.25])),
    })[out.name]!;
    expect(r.dtype).toBe('f16');
    expect(Array.from(fromF16Array(r.data as Uint16Array))).toEqual([6.5]);
  });
});

describe('conv_transpose2d reference', () => {
  it('stride 1 spreads each input pixel over the kernel window', () => {
    const r = run('conv_transpose2d', [{ shape: [1, 1, 2, 2], values: [1, 2, 3, 4] }, { shape: [1, 1, 2, 2], values: [1, 1, 1, 1] }]);
    expect(r).toEqual({ shape: [1, 1, 3, 3], values: [1, 3, 2, 4, 10, 6, 3, 7, 4] });
  });
  it('stride 2, output_padding and padding set the output width', () => {
    const x = { shape: [1, 1, 1, 2], values: [1, 2] };
    const w = { shape: [1, 1, 1, 2], values: [1, 10] };
    expect(run('conv_transpose2d', [x, w], { stride: [1, 2] })).toEqual({ shape: [1, 1, 1, 4], values: [1, 10, 2, 20] });
    expect(run('conv_transpose2d', [x, w], { stride: [1, 2], output_padding: [0, 1] }))
      .toEqual({ shape: [1, 1, 1, 5], values: [1, 10, 2, 20, 0] });
    expect(run('conv_transpose2d', [x, w], { stride: [1, 2], padding: [0, 1, 0, 0] }))
      .toEqual({ shape: [1, 1, 1, 3], values: [10, 2, 20] });
  });
  it('dilation spaces the taps', () => {
    const r = run('conv_transpose2d', [{ shape: [1, 1, 1, 1], values: [1] }, { shape: [1, 1, 1, 2], values: [1, 2] }], { dilation: [1, 3] });
    expect(r).toEqual({ shape: [1, 1, 1, 4], values: [1, 0, 0, 2] });
  });
  it('weights are [in, out/groups, kh, kw]; groups and bias', () => {
    const x = { shape: [1, 2, 1, 1], values: [1, 2] };
    // Out channel o sums x[c] * w[c][o]: o0 = 1*1 + 2*3, o1 = 1*2 + 2*4.
    expect(run('conv_transpose2d', [x, { shape: [2, 2, 1, 1], values: [1, 2, 3, 4] }, { shape: [2], values: [100, 200] }]).values)
      .toEqual([107, 210]);
    expect(run('conv_transpose2d', [x, { shape: [2, 1, 1, 1], values: [3, 4] }], { groups: 2 }).values).toEqual([3, 8]);
  });
});

describe('pooling reference', () => {
  const x4x4 = { shape: [1, 1, 4, 4], values: range(16, 0) };

  it('max_pool2d stride defaults to the kernel size and is stored explicitly', () => {
    expect(run('max_pool2d', [x4x4], { kernel_size: [2, 2] })).toEqual({ shape: [1, 1, 2, 2], values: [5, 7, 13, 15] });
    const g = new Graph('g');
    const x = g.addInput('x', { dtype: 'f32', shape: [1, 1, 4, 4], device: 'cpu' });
    expect(g.addNode('max_pool2d', [x], { kernel_size: [2, 3] }).attrs.stride).toEqual([2, 3]);
  });
  it('max_pool2d: padded positions never win over negative values', () => {
    const x = { shape: [1, 1, 3, 3], values: range(9).map((v) => -v) };
    expect(run('max_pool2d', [x], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }).values).toEqual([-1, -2, -4, -5]);
  });
  it('max_pool2d ceil_mode keeps a partial last window, never one starting in the padding', () => {
    const x = { shape: [1, 1, 1, 5], values: [1, 5, 2, 4, 3] };
    expect(run('max_pool2d', [x], { kernel_size: [1, 2] }).values).toEqual([5, 4]);
    expect(run('max_pool2d', [x], { kernel_size: [1, 2], ceil_mode: true }).values).toEqual([5, 4, 3]);
    // Width 4 + right pad 1: a third window would start at 4, inside the padding, so it is dropped.
    const y = { shape: [1, 1, 1, 4], values: [1, 2, 3, 4] };
    expect(run('max_pool2d', [y], { kernel_size: [1, 2], padding: [0, 0, 0, 1], ceil_mode: true }).values).toEqual([2, 4]);
  });
  it('max_pool2d dilation', () => {
    const x = { shape: [1, 1, 1, 5], values: [1, 9, 2, 3, 8] };
    expect(run('max_pool2d', [x], { kernel_size: [1, 2], stride: [1, 1], dilation: [1, 2] }).values).toEqual([2, 9, 8]);
  });
  it('avg_pool2d with and without counting padding', () => {
    expect(run('avg_pool2d', [{ shape: [1, 1, 2, 2], values: [1, 2, 3, 4] }], { kernel_size: [2, 2] }).values).toEqual([2.5]);
    const x = { shape: [1, 1, 2, 2], values: [1, 2, 3, 4] };
    const attrs = { kernel_size: [2, 2], stride: [2, 2], padding: [1, 1, 1, 1] };
    expect(run('avg_pool2d', [x], attrs).values).toEqual([1, 2, 3, 4]);
    expect(run('avg_pool2d', [x], { ...attrs, count_include_pad: true }).values).toEqual([0.25, 0.5, 0.75, 1]);
  });
  it('avg_pool2d: a ceil_mode window past the padding divides by what is left of it', () => {
    const x = { shape: [1, 1, 1, 5], values: [1, 2, 3, 4, 5] };
    for (const count_include_pad of [false, true]) {
      expect(run('avg_pool2d', [x], { kernel_size: [1, 2], ceil_mode: true, count_include_pad }).values).toEqual([1.5, 3.5, 5]);
    }
    // Right pad 1: the last window is [5, pad]; counting the pad halves it.
    const padded = { kernel_size: [1, 2], padding: [0, 0, 0, 1] };
    expect(run('avg_pool2d', [x], padded).values).toEqual([1.5, 3.5, 5]);
    expect(run('avg_pool2d', [x], { ...padded, count_include_pad: true }).values).toEqual([1.5, 3.5, 2.5]);
  });
  it('global_avg_pool keeps size-1 spatial axes', () => {
    expect(run('global_avg_pool', [{ shape: [1, 2, 1, 3], values: [1, 2, 3, 4, 5, 6] }])).toEqual({ shape: [1, 2, 1, 1], values: [2, 5] });
  });
  it('adaptive_avg_pool2d uses floor/ceil bins, overlapping when they do not divide', () => {
    const x = { shape: [1, 1, 1, 5], values: [1, 2, 3, 4, 5] };
    // Bins [0,2), [1,4), [3,5).
    expect(run('adaptive_avg_pool2d', [x], { output_size: [1, 3] })).toEqual({ shape: [1, 1, 1, 3], values: [1.5, 3, 4.5] });
    // Upsampling 2 -> 3: bins [0,1), [0,2), [1,2).
    expect(run('adaptive_avg_pool2d', [{ shape: [1, 1, 1, 2], values: [1, 3] }], { output_size: [1, 3] }).values).toEqual([1, 2, 3]);
  });
});

describe('conv and pool type inference', () => {
  function build(op: string, shapes: number[][], attrs: Attrs = {}) {
    const g = new Graph('g');
    const vs = shapes.map((s, i) => g.addInput(`x${i}`, { dtype: 'f32', shape: s, device: 'cpu' }));
    return g.addNode(op, vs, attrs).output.type.shape;
  }
  it('output shapes', () => {
    expect(build('conv2d', [[2, 3, 13, 11], [5, 3, 3, 3]], { stride: [2, 2], padding: [0, 1, 1, 2] })).toEqual([2, 5, 6, 6]);
    expect(build('conv_transpose2d', [[1, 4, 5, 5], [4, 3, 3, 3]], { stride: [2, 2], padding: [1, 1, 1, 1], output_padding: [1, 1] }))
      .toEqual([1, 3, 10, 10]);
    expect(build('max_pool2d', [[1, 1, 13, 11]], { kernel_size: [3, 3], stride: [2, 2], ceil_mode: true })).toEqual([1, 1, 6, 5]);
    expect(build('global_avg_pool', [[2, 3, 5, 7]])).toEqual([2, 3, 1, 1]);
  });
  it('errors name the shapes and what is wrong', () => {
    expect(() => build('conv2d', [[1, 3, 8, 8], [4, 2, 3, 3]])).toThrow(/weight \[4,2,3,3\] has 2 input channels per group but input \[1,3,8,8\]/);
    expect(() => build('conv2d', [[1, 4, 8, 8], [3, 2, 3, 3]], { groups: 2 })).toThrow(/groups=2 must divide/);
    expect(() => build('conv2d', [[1, 3, 8, 8], [4, 3, 3, 3], [3]])).toThrow(/bias must be \[4\]/);
    expect(() => build('conv2d', [[1, 3, 2, 2], [4, 3, 3, 3]])).toThrow(/does not fit input \[1,3,2,2\]/);
    expect(() => build('conv2d', [[1, 3, 8, 8], [4, 3, 3, 3]], { padding: [1, 1] })).toThrow(/padding must have 4 values \[top, left, bottom, right\]/);
    expect(() => build('conv2d', [[3, 8, 8], [4, 3, 3, 3]])).toThrow(/input must be 4-D \[N,C,H,W\], got f32\[3,8,8\]/);
    expect(() => build('conv_transpose2d', [[1, 2, 4, 4], [2, 1, 3, 3]], { stride: [2, 2], output_padding: [2, 0] })).toThrow(/output_padding \[2,0\] must be smaller/);
    expect(() => build('max_pool2d', [[1, 1, 8, 8]], { kernel_size: [2, 2], padding: [2, 0, 0, 0] })).toThrow(/padding \[2,0,0,0\] must be smaller than the 2x2 window/);
    expect(() => build('adaptive_avg_pool2d', [[1, 1, 8, 8]], { output_size: [0, 2] })).toThrow(/output_size values must be >= 1/);
  });
});
