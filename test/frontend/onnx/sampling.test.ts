// GridSample (kiln's grid_sample CPU op) against ONNX Runtime on seeded grids, which reach
// past [-1, 1] so that every padding mode matters: each mode, padding and corner alignment.
import { describe, it } from 'vitest';
import { attr, buildModel, node, OnnxType, tensor } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { tensorData } from '../../../src/ir/tensor-data.js';

function gridSample(x: number[], grid: number[], attrs: Record<string, string | number>, opset = 20): Uint8Array {
  return buildModel({
    opset, inputs: [{ name: 'x', dims: x }, { name: 'grid', dims: grid }], outputs: [{ name: 'out' }],
    nodes: [node('GridSample', ['x', 'grid'], ['out'], Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, typeof v === 'string' ? attr.s(v) : attr.i(v)])))],
  });
}

describe('GridSample', () => {
  for (const mode of ['nearest', 'linear', 'cubic']) {
    for (const padding_mode of ['zeros', 'border', 'reflection']) {
      for (const align_corners of [0, 1]) {
        it(`2-D ${mode}, ${padding_mode} padding, align_corners=${align_corners}`, () =>
          expectSameAsOrt(gridSample([2, 3, 5, 4], [2, 6, 7, 2], { mode, padding_mode, align_corners }), { tol: 1e-4 }).then(() => undefined));
      }
    }
  }
  it('opset 16 names: bilinear and bicubic', async () => {
    await expectSameAsOrt(gridSample([1, 2, 4, 6], [1, 3, 5, 2], { mode: 'bilinear' }, 16));
    await expectSameAsOrt(gridSample([1, 2, 4, 6], [1, 3, 5, 2], { mode: 'bicubic', padding_mode: 'border' }, 16), { tol: 1e-4 });
  });
});

describe('AffineGrid', () => {
  for (const align of [0, 1]) {
    it(`2-D, align_corners=${align}`, () => expectSameAsOrt(buildModel({
      opset: 20, inputs: [{ name: 'theta', dims: [2, 2, 3] }], outputs: [{ name: 'out' }],
      initializers: [tensor('size', OnnxType.INT64, [4], [2, 3, 4, 5])],
      nodes: [node('AffineGrid', ['theta', 'size'], ['out'], { align_corners: attr.i(align) })],
    })).then(() => undefined));
  }
});

// RoiAlign (kiln's roi_align CPU op) against ONNX Runtime: boxes inside, across the border and
// past it, degenerate, on two images; each mode and coordinate mode, fixed and adaptive sampling.
describe('RoiAlign', () => {
  const rng = new Random(5);
  const inputs = {
    x: tensorData('f32', [2, 3, 8, 9], Array.from({ length: 2 * 3 * 8 * 9 }, () => rng.normal())),
    rois: tensorData('f32', [5, 4], [0, 0, 8, 7, 2.5, 1.2, 6.3, 5.9, -3, -2, 4, 3, 10, 12, 19, 18, 4, 4, 4.2, 4.1]),
    batch: tensorData('i32', [5], [0, 1, 1, 0, 1]),
  };
  for (const mode of ['avg', 'max']) {
    for (const coordinates of ['half_pixel', 'output_half_pixel']) {
      for (const sampling of [0, 2]) {
        it(`${mode}, ${coordinates}, sampling_ratio=${sampling}`, () => expectSameAsOrt(buildModel({
          opset: 16, inputs: [{ name: 'x', dims: [2, 3, 8, 9] }, { name: 'rois', dims: [5, 4] }, { name: 'batch', dims: [5], type: OnnxType.INT64 }],
          outputs: [{ name: 'out' }],
          nodes: [node('RoiAlign', ['x', 'rois', 'batch'], ['out'], {
            mode: attr.s(mode), coordinate_transformation_mode: attr.s(coordinates), output_height: attr.i(3), output_width: attr.i(2),
            sampling_ratio: attr.i(sampling), spatial_scale: attr.f(0.75),
          })],
        }), { inputs, onnxTypes: { batch: OnnxType.INT64 }, tol: 1e-4 }).then(() => undefined));
      }
    }
  }
});
