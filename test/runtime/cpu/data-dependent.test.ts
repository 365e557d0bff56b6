import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { formatType, type DType } from '../../../src/ir/types.js';
import { dMul, sizeVar } from '../../../src/ir/size-expr.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import type { Attrs } from '../../../src/ir/attrs.js';
import { runNodeOutputs, type ShapedInput } from './run-node.js';

// The data-dependent reference kernels against answers worked out by hand, most of them the
// examples of the ONNX operator docs (NonZero, Unique, NonMaxSuppression).

type In = ShapedInput;

const runAll = runNodeOutputs;
const ints = (shape: number[], values: number[]): In => ({ shape, values, dtype: 'i32' });
const one = (x: number, dtype: DType = 'f32'): In => ({ shape: [1], values: [x], dtype });

describe('nonzero', () => {
  it('gives the indices of nonzero elements in row-major order, [rank, K] with K a size of the range 0..numel', () => {
    const g = new Graph('g');
    const x = g.addInput('x', { dtype: 'f32', shape: [2, 3], device: 'cpu' });
    expect(formatType(g.addNode('nonzero', [x]).output.type)).toBe('i32[2,nonzero_1] @cpu');
    expect(runAll('nonzero', [ints([2, 2], [1, 0, 1, 1])])).toEqual([{ shape: [2, 3], values: [0, 1, 1, 0, 0, 1] }]);
  });
  it('counts NaN and not -0; all zeros and an empty input give K = 0; bool input', () => {
    expect(runAll('nonzero', [{ shape: [4], values: [NaN, -0, 0, 2] }])).toEqual([{ shape: [1, 2], values: [0, 3] }]);
    expect(runAll('nonzero', [{ shape: [2, 2], values: [0, 0, 0, 0] }])).toEqual([{ shape: [2, 0], values: [] }]);
    expect(runAll('nonzero', [{ shape: [0, 3], values: [] }])).toEqual([{ shape: [2, 0], values: [] }]);
    expect(runAll('nonzero', [{ shape: [3], values: [1, 0, 1], dtype: 'bool' }])).toEqual([{ shape: [1, 2], values: [0, 2] }]);
  });
});

describe('unique', () => {
  it('the ONNX doc examples: sorted and not sorted, without an axis', () => {
    const x = { shape: [6], values: [2, 1, 1, 3, 4, 3] };
    expect(runAll('unique', [x]).map((o) => o.values)).toEqual([[1, 2, 3, 4], [1, 0, 3, 4], [1, 0, 0, 2, 3, 2], [2, 1, 2, 1]]);
    expect(runAll('unique', [x], { sorted: false }).map((o) => o.values)).toEqual([[2, 1, 3, 4], [0, 1, 3, 4], [0, 1, 1, 2, 3, 2], [1, 2, 2, 1]]);
  });
  it('slices along an axis, sorted lexicographically or in order of first occurrence; a negative axis', () => {
    const rows = { shape: [3, 3], values: [1, 0, 0, 1, 0, 0, 2, 3, 4] };
    expect(runAll('unique', [rows], { axis: 0 })).toEqual([
      { shape: [2, 3], values: [1, 0, 0, 2, 3, 4] }, { shape: [2], values: [0, 2] }, { shape: [3], values: [0, 0, 1] }, { shape: [2], values: [2, 1] },
    ]);
    const cols = { shape: [2, 3], values: [3, 1, 3, 0, 5, 0] }; // columns (3,0), (1,5), (3,0)
    expect(runAll('unique', [cols], { axis: 1 }).map((o) => o.values)).toEqual([[1, 3, 5, 0], [1, 0], [1, 0, 1], [1, 2]]);
    expect(runAll('unique', [cols], { axis: -1, sorted: false }).map((o) => o.values)).toEqual([[3, 1, 0, 5], [0, 1], [0, 1, 0], [2, 1]]);
  });
  it('NaN equals NaN and sorts last; an empty input has no unique element; integers', () => {
    expect(runAll('unique', [{ shape: [3], values: [NaN, 1, NaN] }]).map((o) => o.values)).toEqual([[1, NaN], [1, 0], [1, 0, 1], [1, 2]]);
    expect(runAll('unique', [{ shape: [0], values: [] }]).map((o) => o.shape)).toEqual([[0], [0], [0], [0]]);
    expect(runAll('unique', [ints([4], [-3, 7, -3, 0])])[0]).toEqual({ shape: [3], values: [-3, 0, 7] });
  });
});

describe('non_max_suppression', () => {
  const boxes = [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101];
  const centers = [0.5, 0.5, 1, 1, 0.5, 0.6, 1, 1, 0.5, 0.4, 1, 1, 0.5, 10.5, 1, 1, 0.5, 10.6, 1, 1, 0.5, 100.5, 1, 1];
  const scores = { shape: [1, 1, 6], values: [0.9, 0.75, 0.6, 0.95, 0.5, 0.3] };
  const nms = (b: number[], s: In, max: number, iou: number, score?: number, attrs: Attrs = {}) =>
    runAll('non_max_suppression', [{ shape: [1, b.length / 4, 4], values: b }, s, one(max, 'i32'), one(iou), ...(score === undefined ? [] : [one(score)])], attrs)[0]!;

  it('the ONNX doc example, with corner boxes and with center_point_box', () => {
    expect(nms(boxes, scores, 3, 0.5, 0)).toEqual({ shape: [3, 3], values: [0, 0, 3, 0, 0, 0, 0, 0, 5] });
    expect(nms(centers, scores, 3, 0.5, 0, { center_point_box: true })).toEqual({ shape: [3, 3], values: [0, 0, 3, 0, 0, 0, 0, 0, 5] });
  });
  it('limits per class, keeps only scores above the threshold, keeps nothing for a limit of 0', () => {
    expect(nms(boxes, scores, 2, 0.5, 0).values).toEqual([0, 0, 3, 0, 0, 0]);
    expect(nms(boxes, scores, 3, 0.5, 0.4).values).toEqual([0, 0, 3, 0, 0, 0]);
    expect(nms(boxes, scores, 0, 0.5)).toEqual({ shape: [0, 3], values: [] });
  });
  it('equal scores: the lower index first; identical boxes keep one; IoU equal to the threshold is kept', () => {
    const same = { shape: [1, 1, 3], values: [0.5, 0.5, 0.5] };
    expect(nms([0, 0, 1, 1, 0, 2, 1, 3, 0, 4, 1, 5], same, 3, 0.5).values).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 2]);
    expect(nms([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1], same, 3, 0.5).values).toEqual([0, 0, 0]);
    // [0,0,1,3] and [0,1,1,4] overlap by 2 of a union of 4: IoU exactly 0.5, suppressed only above it.
    const two = { shape: [1, 1, 2], values: [0.9, 0.8] };
    expect(nms([0, 0, 1, 3, 0, 1, 1, 4], two, 2, 0.5).shape).toEqual([2, 3]);
    expect(nms([0, 0, 1, 3, 0, 1, 1, 4], two, 2, 0.49).shape).toEqual([1, 3]);
  });
  it('rows run over batches, then classes', () => {
    const b = [0, 0, 1, 1, 0, 5, 1, 6];
    const got = runAll('non_max_suppression', [{ shape: [2, 2, 4], values: [...b, ...b] }, { shape: [2, 2, 2], values: [0.1, 0.2, 0.4, 0.3, 0.5, 0.6, 0.8, 0.7] }, one(1, 'i32'), one(0.5)])[0]!;
    expect(got).toEqual({ shape: [4, 3], values: [0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0] });
  });
});

describe('runOnCpu of a graph whose sizes vary', () => {
  it('binds a data-dependent size from the result and runs the ops after it at that size', () => {
    const g = new Graph('g');
    const x = g.addInput('x', { dtype: 'f32', shape: [5], device: 'cpu' });
    const [y] = g.addNode('unique', [x], { size: 'K' }).outputs;
    const c = g.addNode('cumsum', [y!], { axis: 0 }).output;
    expect(formatType(c.type)).toBe('f32[K] @cpu');
    g.setOutputs([c]);
    const run = (xs: number[]) => runOnCpu(g, { x: tensorData('f32', [5], xs) })[c.name]!;
    expect(run([3, 1, 3, 1, 2])).toMatchObject({ shape: [3], data: Float32Array.from([1, 3, 6]) });
    expect(run([7, 7, 7, 7, 7])).toMatchObject({ shape: [1], data: Float32Array.from([7]) });
  });
  it('checks inputs against their sizes: a size out of its range, two extents of one size disagreeing', () => {
    const g = new Graph('g');
    const n = { name: 'N', min: 1, max: 4 };
    const dims = [sizeVar(n.name, n.min, n.max)];
    const a = g.addInput('a', { dtype: 'f32', shape: [4], dims, device: 'cpu' });
    const b = g.addInput('b', { dtype: 'f32', shape: [4], dims, device: 'cpu' });
    g.setOutputs([g.addNode('add', [a, b]).output]);
    const t = (k: number) => tensorData('f32', [k], new Array<number>(k).fill(1));
    expect(() => runOnCpu(g, { a: t(5), b: t(5) })).toThrow(/input 'a': dimension 0 \(N\) is 5, outside its range 1\.\.4/);
    expect(() => runOnCpu(g, { a: t(2), b: t(3) })).toThrow(/input 'b' expects f32\[N\] @cpu, got f32\[3\] with N = 2/);
    expect(runOnCpu(g, { a: t(3), b: t(3) })[g.outputs[0]!.name]!.shape).toEqual([3]);
  });
  it('binds a size from an extent that is a multiple of it (32*H), as the GPU runtime does', () => {
    const g = new Graph('g');
    const h = sizeVar('H', 1, 3);
    const x = g.addInput('x', { dtype: 'f32', shape: [96], dims: [dMul(32, h)], device: 'cpu' });
    const y = g.addInput('y', { dtype: 'f32', shape: [3], dims: [h], device: 'cpu' });
    const s = g.addNode('sum', [x], { axes: [0], keepdims: true }).output;
    g.setOutputs([g.addNode('add', [y, s]).output]);
    const t = (k: number) => tensorData('f32', [k], new Array<number>(k).fill(1));
    expect(runOnCpu(g, { x: t(64), y: t(2) })[g.outputs[0]!.name]!).toMatchObject({ shape: [2], data: Float32Array.from([65, 65]) });
    expect(() => runOnCpu(g, { x: t(64), y: t(3) })).toThrow(/input 'y' expects f32\[H\] @cpu, got f32\[3\] with H = 2/);
    expect(() => runOnCpu(g, { x: t(40), y: t(2) })).toThrow(/input 'x': dimension 0 \(32\*H\) is 40, not a multiple of 32/);
    expect(() => runOnCpu(g, { x: t(128), y: t(4) })).toThrow(/input 'x': dimension 0 \(32\*H\) is 128, outside its range 32\.\.96/);
  });
});
