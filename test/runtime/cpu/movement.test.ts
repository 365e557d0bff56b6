import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../../src/ir/attrs.js';
import type { DType } from '../../../src/ir/types.js';
import { scaleFraction } from '../../../src/ir/ops/resize.js';
import { runNodeOutputs, type ShapedInput, type ShapedOutput } from './run-node.js';

// The movement reference kernels are the oracle of the GPU tests; here they are checked
// against answers worked out by hand (many are the examples of the ONNX operator docs).

type In = ShapedInput;
type Out = ShapedOutput;

const INT64_MAX = 9223372036854775807;
const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));

const runAll = runNodeOutputs;
const run1 = (op: string, inputs: In[], attrs: Attrs = {}, dtype: DType = 'f32'): Out => runAll(op, inputs, attrs, dtype)[0]!;
const iota = (shape: number[], from = 0): In => ({ shape, values: Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => i + from) });

describe('reshape-like ops', () => {
  it('flatten: ONNX semantics, always 2-D', () => {
    const x = iota([2, 3, 4]);
    expect(run1('flatten', [x]).shape).toEqual([2, 12]);
    expect(run1('flatten', [x], { axis: 0 }).shape).toEqual([1, 24]);
    expect(run1('flatten', [x], { axis: 3 }).shape).toEqual([24, 1]);
    expect(run1('flatten', [x], { axis: -1 })).toEqual({ shape: [6, 4], values: x.values });
    expect(() => run1('flatten', [x], { axis: 4 })).toThrow(/axis 4 is out of range/);
  });
  it('squeeze: all size-1 dims, or the named ones, which must be 1', () => {
    const x = iota([1, 3, 1, 2]);
    expect(run1('squeeze', [x])).toEqual({ shape: [3, 2], values: x.values });
    expect(run1('squeeze', [x], { axes: [-2] }).shape).toEqual([1, 3, 2]);
    expect(() => run1('squeeze', [x], { axes: [1] })).toThrow(/cannot squeeze axis 1 of \[1,3,1,2\]: its extent is 3/);
  });
  it('unsqueeze: axes are positions in the output', () => {
    expect(run1('unsqueeze', [iota([2, 3])], { axes: [0, -1] }).shape).toEqual([1, 2, 3, 1]);
    expect(run1('unsqueeze', [iota([2, 3])], { axes: [1] }).shape).toEqual([2, 1, 3]);
    expect(() => run1('unsqueeze', [iota([2])], { axes: [0, 0] })).toThrow(/repeat an axis/);
  });
});

describe('expand and channel_shuffle', () => {
  it('expand broadcasts both ways (a 1 in the target keeps the input extent)', () => {
    expect(run1('expand', [{ shape: [3, 1], values: [1, 2, 3] }], { shape: [2, 1, 2] }))
      .toEqual({ shape: [2, 3, 2], values: [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3] });
    expect(run1('expand', [iota([2, 3])], { shape: [1] })).toEqual({ shape: [2, 3], values: iota([2, 3]).values });
    expect(() => run1('expand', [iota([2, 3])], { shape: [4, 1] })).toThrow(/do not broadcast/);
  });
  it('channel_shuffle interleaves the groups', () => {
    expect(run1('channel_shuffle', [iota([1, 6, 1, 1])], { groups: 2 }).values).toEqual([0, 3, 1, 4, 2, 5]);
    expect(run1('channel_shuffle', [iota([1, 6, 2])], { groups: 3 }).values).toEqual([0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11]);
    expect(() => run1('channel_shuffle', [iota([1, 6, 2])], { groups: 4 })).toThrow(/6 channels do not split into 4 groups/);
  });
});

describe('concat and split', () => {
  it('concat along an inner axis, with a negative axis and an empty input', () => {
    const a = { shape: [2, 2], values: [1, 2, 3, 4] };
    const b = { shape: [2, 1], values: [5, 6] };
    const empty = { shape: [2, 0], values: [] };
    expect(run1('concat', [a, empty, b], { axis: -1 })).toEqual({ shape: [2, 3], values: [1, 2, 5, 3, 4, 6] });
    expect(run1('concat', [a, a], { axis: 0 })).toEqual({ shape: [4, 2], values: [1, 2, 3, 4, 1, 2, 3, 4] });
    expect(() => run1('concat', [a, b], { axis: 0 })).toThrow(/differ outside the concat axis 0/);
  });
  it('split into uneven parts, and an empty one', () => {
    const outs = runAll('split', [iota([2, 3], 1)], { axis: 1, sizes: [1, 0, 2] });
    expect(outs).toEqual([
      { shape: [2, 1], values: [1, 4] },
      { shape: [2, 0], values: [] },
      { shape: [2, 2], values: [2, 3, 5, 6] },
    ]);
    expect(() => run1('split', [iota([2, 3])], { axis: 1, sizes: [1, 1] })).toThrow(/add up to 2 but axis 1/);
  });
});

describe('slice (ONNX semantics)', () => {
  const x = iota([10]);
  it('negative starts, INT64_MAX ends, and clamping', () => {
    expect(run1('slice', [x], { starts: [-3], ends: [INT64_MAX] }).values).toEqual([7, 8, 9]);
    expect(run1('slice', [x], { starts: [-100], ends: [2] }).values).toEqual([0, 1]);
    expect(run1('slice', [x], { starts: [5], ends: [3] }).values).toEqual([]);
  });
  it('negative steps run backwards, with -INT64_MAX meaning past the front', () => {
    expect(run1('slice', [x], { starts: [8], ends: [-INT64_MAX], steps: [-2] }).values).toEqual([8, 6, 4, 2, 0]);
    expect(run1('slice', [x], { starts: [-1], ends: [-100], steps: [-1] }).values).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(run1('slice', [x], { starts: [INT64_MAX], ends: [6], steps: [-3] }).values).toEqual([9]);
  });
  it('the ONNX doc examples over two axes', () => {
    const data = { shape: [2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8] };
    expect(run1('slice', [data], { starts: [1, 0], ends: [2, 3], axes: [0, 1], steps: [1, 2] })).toEqual({ shape: [1, 2], values: [5, 7] });
    expect(run1('slice', [data], { starts: [0, 1], ends: [-1, 1000] })).toEqual({ shape: [1, 3], values: [2, 3, 4] });
    expect(run1('slice', [data], { starts: [3], ends: [0], axes: [-1], steps: [-1] })).toEqual({ shape: [2, 3], values: [4, 3, 2, 8, 7, 6] });
  });
  it('rejects a zero step and mismatched lists', () => {
    expect(() => run1('slice', [x], { starts: [0], ends: [3], steps: [0] })).toThrow(/step of axis 0 is 0/);
    expect(() => run1('slice', [x], { starts: [0, 1], ends: [3] })).toThrow(/must have the same length/);
  });
});

describe('pad', () => {
  const data = { shape: [3, 2], values: [1.0, 1.2, 2.3, 3.4, 4.5, 5.7] };
  it('the ONNX doc examples: constant, reflect, edge', () => {
    expect(run1('pad', [data], { pads: [0, 2, 0, 0] })).toEqual({ shape: [3, 4], values: f32([0, 0, 1.0, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7]) });
    expect(run1('pad', [data], { pads: [0, 2, 0, 0], mode: 'reflect' }).values).toEqual(f32([1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7]));
    expect(run1('pad', [data], { pads: [0, 2, 0, 0], mode: 'edge' }).values).toEqual(f32([1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7]));
  });
  it('reflect wider than the axis keeps mirroring (like NumPy)', () => {
    const x = { shape: [3], values: [1, 2, 3] };
    expect(run1('pad', [x], { pads: [5, 0], mode: 'reflect' }).values).toEqual([2, 1, 2, 3, 2, 1, 2, 3]);
    expect(run1('pad', [x], { pads: [0, 6], mode: 'reflect' }).values).toEqual([1, 2, 3, 2, 1, 2, 3, 2, 1]);
  });
  it('a constant value on both sides of two axes, negative pads crop, ints truncate the value', () => {
    expect(run1('pad', [{ shape: [1, 2], values: [1, 2] }], { pads: [1, 0, 0, 1], value: 7 }))
      .toEqual({ shape: [2, 3], values: [7, 7, 7, 1, 2, 7] });
    expect(run1('pad', [iota([4], 1)], { pads: [-1, 1], value: 9 }).values).toEqual([2, 3, 4, 9]);
    expect(run1('pad', [iota([2], 1)], { pads: [1, 1], value: -2.7 }, 'i32').values).toEqual([-2, 1, 2, -2]);
  });
  it('wrap repeats the axis periodically, wider than the axis too, and wraps what a crop leaves', () => {
    const x = { shape: [3], values: [1, 2, 3] };
    expect(run1('pad', [x], { pads: [2, 4], mode: 'wrap' }).values).toEqual([2, 3, 1, 2, 3, 1, 2, 3, 1]);
    expect(run1('pad', [x], { pads: [7, 0], mode: 'wrap' }).values).toEqual([3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    // Crop the first element, then wrap the rest [2, 3] two to the right.
    expect(run1('pad', [x], { pads: [-1, 2], mode: 'wrap' }).values).toEqual([2, 3, 2, 3]);
    expect(run1('pad', [data], { pads: [1, 0, 0, 1], mode: 'wrap' }).values).toEqual(f32([4.5, 5.7, 4.5, 1.0, 1.2, 1.0, 2.3, 3.4, 2.3, 4.5, 5.7, 4.5]));
  });
  it('rejects a bad mode and reflecting an empty axis', () => {
    expect(() => run1('pad', [data], { pads: [0, 0, 0, 0], mode: 'circular' })).toThrow(/mode "circular" is not one of/);
    expect(() => run1('pad', [{ shape: [2], values: [1, 2] }], { pads: [-2, 1], mode: 'wrap' })).toThrow(/nothing to copy/);
    expect(() => run1('pad', [{ shape: [0], values: [] }], { pads: [1, 1], mode: 'edge' })).toThrow(/nothing to copy/);
  });
});

describe('gather and embedding', () => {
  it('the ONNX doc examples on axis 0 and axis 1', () => {
    const data = { shape: [3, 2], values: [1, 12, 23, 34, 45, 57] };
    const idx = { shape: [2, 2], values: [0, 1, 1, 2], dtype: 'i32' as const };
    expect(run1('gather', [data, idx])).toEqual({ shape: [2, 2, 2], values: [1, 12, 23, 34, 23, 34, 45, 57] });
    const data3 = { shape: [3, 3], values: [10, 12, 19, 23, 34, 39, 45, 57, 59] };
    expect(run1('gather', [data3, { shape: [1, 2], values: [0, 2], dtype: 'i32' }], { axis: 1 }))
      .toEqual({ shape: [3, 1, 2], values: [10, 19, 23, 39, 45, 59] });
  });
  it('negative indices count from the end; a scalar index drops the axis', () => {
    const data = iota([2, 3]);
    expect(run1('gather', [data, { shape: [2], values: [-1, 0], dtype: 'i32' }], { axis: -1 })).toEqual({ shape: [2, 2], values: [2, 0, 5, 3] });
    expect(run1('gather', [data, { shape: [], values: [-2], dtype: 'i32' }])).toEqual({ shape: [3], values: [0, 1, 2] });
  });
  it('rejects out-of-range indices and non-i32 indices', () => {
    expect(() => run1('gather', [iota([3]), { shape: [1], values: [3], dtype: 'i32' }])).toThrow(/index 3 is out of range for an axis of extent 3/);
    expect(() => run1('gather', [iota([3]), { shape: [1], values: [0] }])).toThrow(/indices must be i32/);
  });
  it('embedding looks up rows of a 2-D weight', () => {
    expect(run1('embedding', [iota([3, 2]), { shape: [2, 1], values: [2, 0], dtype: 'i32' }])).toEqual({ shape: [2, 1, 2], values: [4, 5, 0, 1] });
  });
});

describe('resize (ONNX Resize semantics)', () => {
  const x22 = { shape: [1, 1, 2, 2], values: [1, 2, 3, 4] };
  const x24 = { shape: [1, 1, 2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8] };
  const x44 = iota([1, 1, 4, 4], 1);
  const rows = (r: number[][]) => r.flat();

  it('scales become exact fractions', () => {
    expect(scaleFraction(0.6)).toEqual([3, 5]);
    expect(scaleFraction(Math.fround(0.6))).toEqual([3, 5]);
    expect(scaleFraction(Math.fround(4 / 3))).toEqual([4, 3]);
    expect(scaleFraction(2)).toEqual([2, 1]);
  });
  it('nearest, default half_pixel + round_prefer_floor: upsample by scales', () => {
    expect(run1('resize', [x22], { scales: [1, 1, 2, 3] })).toEqual({
      shape: [1, 1, 4, 6], values: rows([[1, 1, 1, 2, 2, 2], [1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4], [3, 3, 3, 4, 4, 4]]),
    });
  });
  it('nearest by sizes, where coordinates land exactly on .5 ties (they go down)', () => {
    const r = run1('resize', [x22], { sizes: [7, 8] });
    expect(r.shape).toEqual([1, 1, 7, 8]);
    const top = [1, 1, 1, 1, 2, 2, 2, 2];
    const bottom = [3, 3, 3, 3, 4, 4, 4, 4];
    expect(r.values).toEqual(rows([top, top, top, top, bottom, bottom, bottom]));
    expect(run1('resize', [x24], { sizes: [1, 1, 1, 3] })).toEqual({ shape: [1, 1, 1, 3], values: [1, 2, 4] });
    expect(run1('resize', [x24], { scales: [0.6, 0.6] })).toEqual({ shape: [1, 1, 1, 2], values: [1, 3] });
  });
  it('nearest modes: round_prefer_ceil + asymmetric, ceil + half_pixel, floor + align_corners', () => {
    const ceilAsym = run1('resize', [x44], { sizes: [8, 8], coordinate_transformation_mode: 'asymmetric', nearest_mode: 'round_prefer_ceil' });
    expect(ceilAsym.values.slice(0, 16)).toEqual([1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8]);
    const ceilHalf = run1('resize', [x44], { sizes: [8, 8], nearest_mode: 'ceil' });
    expect(ceilHalf.values.slice(0, 16)).toEqual([1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8]);
    const floorAc = run1('resize', [x44], { sizes: [8, 8], coordinate_transformation_mode: 'align_corners', nearest_mode: 'floor' });
    expect(floorAc.values.slice(0, 8)).toEqual([1, 1, 1, 2, 2, 3, 3, 4]);
    expect(floorAc.values.slice(56)).toEqual([13, 13, 13, 14, 14, 15, 15, 16]);
  });
  it("PyTorch's nearest (asymmetric + floor) on one axis, any dtype", () => {
    const r = run1('resize', [{ shape: [1, 1, 3], values: [1, 2, 3] }], { sizes: [5], coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, 'i32');
    expect(r).toEqual({ shape: [1, 1, 5], values: [1, 1, 2, 2, 3] });
  });
  it('linear upsample: half_pixel and align_corners (the ONNX examples)', () => {
    const half = run1('resize', [x22], { mode: 'linear', scales: [2, 2] });
    expect(half.values).toEqual(rows([[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]]));
    const ac = run1('resize', [x22], { mode: 'linear', scales: [2, 2], coordinate_transformation_mode: 'align_corners' });
    const want = rows([[1, 4 / 3, 5 / 3, 2], [5 / 3, 2, 7 / 3, 8 / 3], [7 / 3, 8 / 3, 3, 10 / 3], [3, 10 / 3, 11 / 3, 4]]);
    ac.values.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });
  it('linear downsample with half_pixel (the ONNX example)', () => {
    const r = run1('resize', [x24], { mode: 'linear', scales: [1, 1, 0.6, 0.6] });
    expect(r.shape).toEqual([1, 1, 1, 2]);
    expect(r.values[0]).toBeCloseTo(8 / 3, 5);
    expect(r.values[1]).toBeCloseTo(13 / 3, 5);
  });
  it('align_corners by a scale divides by in * scale - 1, unrounded (the ONNX example)', () => {
    const r = run1('resize', [x24], { mode: 'linear', scales: [1, 1, 0.6, 0.6], coordinate_transformation_mode: 'align_corners' });
    expect(r.shape).toEqual([1, 1, 1, 2]);
    expect(r.values[0]).toBe(1);
    expect(r.values[1]).toBeCloseTo(1 + 3 / 1.4, 5);
  });
  it('half_pixel_symmetric keeps the image centred; tf_half_pixel_for_nn is (x + 0.5) / scale', () => {
    const x14 = { shape: [1, 1, 1, 4], values: [1, 2, 3, 4] };
    const sym = run1('resize', [x14], { mode: 'linear', scales: [1, 1, 1, 0.6], coordinate_transformation_mode: 'half_pixel_symmetric' });
    expect(sym.shape).toEqual([1, 1, 1, 2]);
    expect(sym.values[0]).toBeCloseTo(5 / 3, 5);
    expect(sym.values[1]).toBeCloseTo(10 / 3, 5);
    const tf = run1('resize', [x14], { sizes: [1, 3], coordinate_transformation_mode: 'tf_half_pixel_for_nn', nearest_mode: 'floor' });
    expect(tf.values).toEqual([1, 3, 4]);
  });
  it('sizes with scales: sizes give the extents, scales the coordinate mapping', () => {
    // A scale of 0.75 that rounds the height of 2 to 2 (keep_aspect_ratio_policy not_smaller).
    const r = run1('resize', [x24], { scales: [0.75, 0.75], sizes: [2, 3] });
    expect(r).toEqual({ shape: [1, 1, 2, 3], values: [1, 2, 4, 5, 6, 8] });
  });
  it('pytorch_half_pixel maps a single output to index 0', () => {
    const r = run1('resize', [x24], { mode: 'linear', sizes: [1, 1], coordinate_transformation_mode: 'pytorch_half_pixel' });
    expect(r.values).toEqual([1]);
  });
  it('cubic: the ONNX example (upsample by 2, A = -0.75, half_pixel), and exclude_outside', () => {
    const x = iota([1, 1, 4, 4], 1);
    const r = run1('resize', [x], { mode: 'cubic', scales: [2, 2] });
    expect(r.shape).toEqual([1, 1, 8, 8]);
    const firstRow = [0.47265625, 0.76953125, 1.24609375, 1.875, 2.28125, 2.91015625, 3.38671875, 3.68359375];
    r.values.slice(0, 8).forEach((v, i) => expect(v).toBeCloseTo(firstRow[i]!, 5));
    // Weights that only reach inside the input sum to 1, so a constant image stays constant.
    const flat = run1('resize', [{ shape: [1, 1, 3, 3], values: new Array(9).fill(2) }], { mode: 'cubic', scales: [0.6, 0.6], cubic_coeff_a: -0.5, exclude_outside: 1 });
    flat.values.forEach((v) => expect(v).toBeCloseTo(2, 6));
  });
  it('antialiased shrinking widens the filter by 1/scale (the ONNX examples)', () => {
    const x = iota([1, 1, 4, 4], 1);
    const linear = run1('resize', [x], { mode: 'linear', antialias: 1, scales: [0.6, 0.6] });
    expect(linear.shape).toEqual([1, 1, 2, 2]);
    [2.875, 4.5, 9.375, 11].forEach((want, i) => expect(linear.values[i]).toBeCloseTo(want, 5));
    const cubic = run1('resize', [x], { mode: 'cubic', antialias: 1, sizes: [3, 3] });
    [1.7750092, 3.1200073, 4.4650054, 7.1550016, 8.5].forEach((want, i) => expect(cubic.values[i]).toBeCloseTo(want, 5));
  });
  it('tf_crop_and_resize: the region of interest, extrapolated outside the input (the ONNX example)', () => {
    const x = iota([1, 1, 4, 4], 1);
    const r = run1('resize', [x], {
      mode: 'linear', sizes: [3, 3], coordinate_transformation_mode: 'tf_crop_and_resize',
      roi: [0, 0, 0.4, 0.6, 1, 1, 1.2, 1.7], extrapolation_value: 10,
    });
    const want = [7.6, 10, 10, 12.4, 10, 10, 10, 10, 10];
    r.values.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    expect(() => run1('resize', [x], { sizes: [3, 3], roi: [0.5, 0, 0, 0, 1, 1, 1, 1], coordinate_transformation_mode: 'tf_crop_and_resize' })).toThrow(/only the last two dims can be cropped/);
  });
  it('rejects resizing leading dims, scales and sizes for different dims, and interpolation on ints', () => {
    expect(() => run1('resize', [x22], { scales: [1, 2, 2, 2] })).toThrow(/only the last two dims can be resized/);
    expect(() => run1('resize', [x22], { scales: [2, 2], sizes: [1, 4, 4] })).toThrow(/name different dims/);
    expect(() => run1('resize', [x22], { mode: 'linear', sizes: [4, 4] }, 'i32')).toThrow(/linear resize needs a float input/);
    expect(() => run1('resize', [x22], { mode: 'cubic', sizes: [4, 4] }, 'i32')).toThrow(/cubic resize needs a float input/);
    expect(() => run1('resize', [x22], { mode: 'area', sizes: [4, 4] })).toThrow(/mode "area" is not supported/);
  });
});
