import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../../src/ir/attrs.js';
import { runNodeOutputs, type ShapedInput, type ShapedOutput } from './run-node.js';

// The indexing, scan and top-k reference kernels against answers worked out by hand, most of them
// the examples of the ONNX operator docs (GatherElements, ScatterElements, GatherND, ScatterND,
// CumSum, CumProd, TopK).

type In = ShapedInput;
type Out = ShapedOutput;

const runAll = runNodeOutputs;
const run1 = (op: string, inputs: In[], attrs: Attrs = {}): Out => runAll(op, inputs, attrs)[0]!;
const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));
const idx = (shape: number[], values: number[]): In => ({ shape, values, dtype: 'i32' });
const ints = idx; // i32 data

describe('gather_elements', () => {
  it('the ONNX doc examples on axis 1 and axis 0, and negative indices', () => {
    expect(run1('gather_elements', [{ shape: [2, 2], values: [1, 2, 3, 4] }, idx([2, 2], [0, 0, 1, 0])], { axis: 1 }))
      .toEqual({ shape: [2, 2], values: [1, 1, 4, 3] });
    const data = { shape: [3, 3], values: [1, 2, 3, 4, 5, 6, 7, 8, 9] };
    expect(run1('gather_elements', [data, idx([2, 3], [1, 2, 0, 2, 0, 0])], { axis: 0 })).toEqual({ shape: [2, 3], values: [4, 8, 3, 7, 2, 3] });
    expect(run1('gather_elements', [data, idx([2, 3], [-1, -2, 0, -2, 0, 0])], { axis: 0 })).toEqual({ shape: [2, 3], values: [7, 5, 3, 4, 2, 3] });
  });
  it('rejects an index out of range, indices of another rank, and indices larger than the data', () => {
    const data = { shape: [3, 3], values: [1, 2, 3, 4, 5, 6, 7, 8, 9] };
    expect(() => run1('gather_elements', [data, idx([1, 1], [3])])).toThrow(/index 3 is out of range for axis 0 of extent 3/);
    expect(() => run1('gather_elements', [data, idx([1, 1], [-4])])).toThrow(/index -4 is out of range/);
    expect(() => run1('gather_elements', [data, idx([3], [0, 1, 2])])).toThrow(/must have the data's rank 2/);
    expect(() => run1('gather_elements', [data, idx([1, 4], [0, 0, 0, 0])])).toThrow(/larger than the data/);
  });
});

describe('scatter_elements', () => {
  const row = { shape: [1, 5], values: [1, 2, 3, 4, 5] };
  const updates = { shape: [1, 2], values: [1.1, 2.1] };
  it('the ONNX doc examples: axis 0 into zeros, axis 1, negative indices', () => {
    expect(run1('scatter_elements', [{ shape: [3, 3], values: new Array<number>(9).fill(0) }, idx([2, 3], [1, 0, 2, 0, 2, 1]), { shape: [2, 3], values: [1, 1.1, 1.2, 2, 2.1, 2.2] }]))
      .toEqual({ shape: [3, 3], values: f32([2, 1.1, 0, 1, 0, 2.2, 0, 2.1, 1.2]) });
    expect(run1('scatter_elements', [row, idx([1, 2], [1, 3]), updates], { axis: 1 })).toEqual({ shape: [1, 5], values: f32([1, 1.1, 3, 2.1, 5]) });
    expect(run1('scatter_elements', [row, idx([1, 2], [1, -3]), updates], { axis: 1 })).toEqual({ shape: [1, 5], values: f32([1, 1.1, 2.1, 4, 5]) });
  });
  it('reductions fold duplicate indices into the element in order', () => {
    const at = (reduction: string) => run1('scatter_elements', [row, idx([1, 2], [1, 1]), updates], { axis: 1, reduction }).values;
    expect(at('none')).toEqual(f32([1, 2.1, 3, 4, 5]));
    expect(at('add')).toEqual(f32([1, 2 + 1.1 + 2.1, 3, 4, 5]));
    expect(at('mul')).toEqual(f32([1, 2 * 1.1 * 2.1, 3, 4, 5]));
    expect(at('max')).toEqual(f32([1, 2.1, 3, 4, 5]));
    expect(at('min')).toEqual(f32([1, 1.1, 3, 4, 5]));
  });
  it('integer reductions wrap to 32 bits; NaN wins max and min', () => {
    expect(run1('scatter_elements', [ints([2], [65536, 1]), idx([1], [0]), ints([1], [65536])], { reduction: 'mul' }).values).toEqual([0, 1]);
    expect(run1('scatter_elements', [{ shape: [2], values: [1, 2] }, idx([1], [1]), { shape: [1], values: [NaN] }], { reduction: 'max' }).values).toEqual([1, NaN]);
  });
  it('rejects an index out of range, an unknown reduction and mismatched updates', () => {
    expect(() => run1('scatter_elements', [row, idx([1, 2], [1, 5]), updates], { axis: 1 })).toThrow(/index 5 is out of range for axis 1 of extent 5/);
    expect(() => run1('scatter_elements', [row, idx([1, 2], [1, 2]), updates], { axis: 1, reduction: 'mean' })).toThrow(/reduction 'mean' is not one of/);
    expect(() => run1('scatter_elements', [row, idx([1, 2], [1, 2]), { shape: [1, 3], values: [1, 2, 3] }], { axis: 1 })).toThrow(/must have the indices' shape/);
  });
});

describe('gather_nd', () => {
  const d22 = ints([2, 2], [0, 1, 2, 3]);
  const d222 = ints([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
  it('the ONNX doc examples 1 to 5', () => {
    expect(run1('gather_nd', [d22, idx([2, 2], [0, 0, 1, 1])])).toEqual({ shape: [2], values: [0, 3] });
    expect(run1('gather_nd', [d22, idx([2, 1], [1, 0])])).toEqual({ shape: [2, 2], values: [2, 3, 0, 1] });
    expect(run1('gather_nd', [d222, idx([2, 2], [0, 1, 1, 0])])).toEqual({ shape: [2, 2], values: [2, 3, 4, 5] });
    expect(run1('gather_nd', [d222, idx([2, 1, 2], [0, 1, 1, 0])])).toEqual({ shape: [2, 1, 2], values: [2, 3, 4, 5] });
    expect(run1('gather_nd', [d222, idx([2, 1], [1, 0])], { batch_dims: 1 })).toEqual({ shape: [2, 2], values: [2, 3, 4, 5] });
  });
  it('negative indices count from the end; out of range and mismatched batches are errors', () => {
    expect(run1('gather_nd', [d22, idx([1, 2], [-1, -2])])).toEqual({ shape: [1], values: [2] });
    expect(() => run1('gather_nd', [d22, idx([1, 2], [0, 2])])).toThrow(/index 2 is out of range for axis 1 of extent 2/);
    expect(() => run1('gather_nd', [d222, idx([3, 1], [0, 0, 0])], { batch_dims: 1 })).toThrow(/batch dimension 0 differs/);
    expect(() => run1('gather_nd', [d22, idx([1, 3], [0, 0, 0])])).toThrow(/do not fit data/);
  });
});

describe('scatter_nd', () => {
  it('the ONNX doc examples: elements of a vector, and slices of a 3-D tensor', () => {
    expect(run1('scatter_nd', [ints([8], [1, 2, 3, 4, 5, 6, 7, 8]), idx([4, 1], [4, 3, 1, 7]), ints([4], [9, 10, 11, 12])]))
      .toEqual({ shape: [8], values: [1, 11, 3, 10, 9, 6, 7, 12] });
    const data = ints([3, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(run1('scatter_nd', [data, idx([2, 1], [0, 2]), ints([2, 2, 2], [0, 0, 0, 0, 7, 7, 7, 7])]))
      .toEqual({ shape: [3, 2, 2], values: [0, 0, 0, 0, 5, 6, 7, 8, 7, 7, 7, 7] });
  });
  it('reductions combine duplicate slices; indices out of range are errors', () => {
    const data = ints([2, 2], [1, 2, 3, 4]);
    const at = (reduction: string) => run1('scatter_nd', [data, idx([2, 1], [0, 0]), ints([2, 2], [5, 6, 7, 8])], { reduction }).values;
    expect(at('add')).toEqual([13, 16, 3, 4]);
    expect(at('mul')).toEqual([35, 96, 3, 4]);
    expect(at('max')).toEqual([7, 8, 3, 4]);
    expect(at('min')).toEqual([1, 2, 3, 4]);
    expect(run1('scatter_nd', [data, idx([2, 2], [1, 0, 0, 1]), ints([2], [9, 8])], { reduction: 'max' }).values).toEqual([1, 8, 9, 4]);
    expect(() => run1('scatter_nd', [data, idx([1, 1], [-3]), ints([1, 2], [0, 0])])).toThrow(/index -3 is out of range for axis 0 of extent 2/);
    expect(() => run1('scatter_nd', [data, idx([1, 1], [0]), ints([2], [0, 0])])).toThrow(/updates i32\[2\] must have shape \[1,2\]/);
  });
});

describe('cumsum and cumprod', () => {
  const x = { shape: [5], values: [1, 2, 3, 4, 5] };
  it('the ONNX doc examples: exclusive, reverse and both', () => {
    expect(run1('cumsum', [x], { axis: 0 }).values).toEqual([1, 3, 6, 10, 15]);
    expect(run1('cumsum', [x], { axis: 0, exclusive: true }).values).toEqual([0, 1, 3, 6, 10]);
    expect(run1('cumsum', [x], { axis: 0, reverse: true }).values).toEqual([15, 14, 12, 9, 5]);
    expect(run1('cumsum', [x], { axis: 0, reverse: true, exclusive: true }).values).toEqual([14, 12, 9, 5, 0]);
    expect(run1('cumprod', [x], { axis: 0 }).values).toEqual([1, 2, 6, 24, 120]);
    expect(run1('cumprod', [x], { axis: 0, exclusive: true }).values).toEqual([1, 1, 2, 6, 24]);
    expect(run1('cumprod', [x], { axis: 0, reverse: true }).values).toEqual([120, 120, 60, 20, 5]);
  });
  it('along either axis of a matrix; integers wrap to 32 bits', () => {
    const m = { shape: [2, 3], values: [1, 2, 3, 4, 5, 6] };
    expect(run1('cumsum', [m], { axis: 0 })).toEqual({ shape: [2, 3], values: [1, 2, 3, 5, 7, 9] });
    expect(run1('cumsum', [m], { axis: -1 })).toEqual({ shape: [2, 3], values: [1, 3, 6, 4, 9, 15] });
    expect(run1('cumprod', [ints([3], [65536, 65536, 3])], { axis: 0 }).values).toEqual([65536, 0, 0]);
    expect(run1('cumsum', [ints([2], [2147483647, 1])], { axis: 0 }).values).toEqual([2147483647, -2147483648]);
    expect(() => run1('cumsum', [m], { axis: 2 })).toThrow(/axis 2 is out of range/);
  });
});

describe('top_k', () => {
  it('the ONNX doc examples: largest and smallest along axis 1', () => {
    const [v, i] = runAll('top_k', [{ shape: [3, 4], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }], { axis: 1, k: 3 });
    expect(v).toEqual({ shape: [3, 3], values: [3, 2, 1, 7, 6, 5, 11, 10, 9] });
    expect(i!.values).toEqual([3, 2, 1, 3, 2, 1, 3, 2, 1]);
    const [vs, is] = runAll('top_k', [{ shape: [3, 4], values: [0, 1, 2, 3, 4, 5, 6, 7, 11, 10, 9, 8] }], { axis: 1, k: 3, largest: false });
    expect(vs!.values).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10]);
    expect(is!.values).toEqual([0, 1, 2, 0, 1, 2, 3, 2, 1]);
  });
  it('ties keep the lower index first; NaN ranks above every number; axis 0 of a matrix', () => {
    expect(runAll('top_k', [ints([4], [4, 4, 2, 4])], { k: 3 })[1]!.values).toEqual([0, 1, 3]);
    expect(runAll('top_k', [{ shape: [3], values: [1, NaN, 3] }], { k: 2 }).map((o) => o.values)).toEqual([[NaN, 3], [1, 2]]);
    expect(runAll('top_k', [{ shape: [3], values: [1, NaN, 3] }], { k: 2, largest: false }).map((o) => o.values)).toEqual([[1, 3], [0, 2]]);
    expect(runAll('top_k', [{ shape: [3, 2], values: [1, 6, 5, 2, 3, 4] }], { axis: 0, k: 2 }).map((o) => o.values)).toEqual([[5, 6, 3, 4], [1, 0, 2, 2]]);
    expect(() => runAll('top_k', [{ shape: [3], values: [1, 2, 3] }], { k: 4 })).toThrow(/k 4 must be between 0 and the extent 3/);
  });
});
