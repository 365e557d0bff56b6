// DeformConv (kiln's deform_conv2d CPU op) against ONNX Runtime: offsets of a few pixels, so
// taps land between pixels and past the border; groups, offset groups, strides, pads,
// dilations, bias and mask. (The ONNX suite's cases run in backend-conformance.test.ts.)
import { describe, it } from 'vitest';
import { attr, buildModel, node } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { tensorData } from '../../../src/ir/tensor-data.js';

const normals = (rng: Random, shape: number[], scale = 1) =>
  tensorData('f32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale));

describe('DeformConv', () => {
  it('with groups, offset groups, strides, pads, dilations, bias and mask', () => {
    const rng = new Random(11);
    // X [2,4,6,7], W [6,2,3,2] (2 groups), 2 offset groups; output 3x4 (stride 2, pads, dilation 2 on H).
    const inputs = {
      x: normals(rng, [2, 4, 6, 7]), w: normals(rng, [6, 2, 3, 2]), offset: normals(rng, [2, 2 * 6 * 2, 3, 4], 1.5),
      b: normals(rng, [6]), mask: normals(rng, [2, 2 * 6, 3, 4]),
    };
    return expectSameAsOrt(buildModel({
      opset: 19, outputs: [{ name: 'out' }],
      inputs: [{ name: 'x', dims: [2, 4, 6, 7] }, { name: 'w', dims: [6, 2, 3, 2] }, { name: 'offset', dims: [2, 24, 3, 4] }, { name: 'b', dims: [6] }, { name: 'mask', dims: [2, 12, 3, 4] }],
      nodes: [node('DeformConv', ['x', 'w', 'offset', 'b', 'mask'], ['out'], {
        strides: attr.ints([2, 2]), pads: attr.ints([1, 0, 2, 1]), dilations: attr.ints([2, 1]), group: attr.i(2), offset_group: attr.i(2),
      })],
    }), { inputs, tol: 1e-4 }).then(() => undefined);
  });
  it('without bias and mask', () => {
    const rng = new Random(12);
    const inputs = { x: normals(rng, [1, 3, 5, 5]), w: normals(rng, [2, 3, 2, 2]), offset: normals(rng, [1, 8, 4, 4], 0.7) };
    return expectSameAsOrt(buildModel({
      opset: 19, outputs: [{ name: 'out' }],
      inputs: [{ name: 'x', dims: [1, 3, 5, 5] }, { name: 'w', dims: [2, 3, 2, 2] }, { name: 'offset', dims: [1, 8, 4, 4] }],
      nodes: [node('DeformConv', ['x', 'w', 'offset'], ['out'], {})],
    }), { inputs, tol: 1e-4 }).then(() => undefined);
  });
});
