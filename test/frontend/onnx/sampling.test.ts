// GridSample (kiln's grid_sample CPU op) against ONNX Runtime on seeded grids, which reach
// past [-1, 1] so that every padding mode matters: each mode, padding and corner alignment.
import { describe, it } from 'vitest';
import { attr, buildModel, node, OnnxType, tensor } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';

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
