// 3-D Conv and pools, decomposed into kiln's 2-D ops at import, checked against ONNX Runtime on
// kiln's CPU reference. (The 2-D ops' GPU kernels are checked against the CPU by their own tests;
// the ONNX suite's 3-D cases run on WebGPU in backend-conformance.test.ts.)
import { describe, expect, it } from 'vitest';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { attr, buildModel, node, type AttrInit, type IoInit } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';

/** One node at opset 19 (the first where AveragePool takes dilations). */
function model(op: string, inputs: IoInit[], attrs: Record<string, AttrInit>): Uint8Array {
  return buildModel({
    opset: 19, inputs, outputs: [{ name: 'out' }],
    nodes: [node(op, inputs.map((i) => i.name), ['out'], attrs)], initializers: [],
  });
}

const check = (op: string, inputs: IoInit[], attrs: Record<string, AttrInit>) => expectSameAsOrt(model(op, inputs, attrs), { tol: 1e-4 });

describe('3-D Conv', () => {
  it('with pads, strides, dilations, groups and bias', () => check('Conv', [
    { name: 'x', dims: [2, 4, 7, 6, 5] }, { name: 'w', dims: [6, 2, 3, 2, 3] }, { name: 'b', dims: [6] },
  ], { pads: attr.ints([1, 0, 2, 2, 1, 0]), strides: attr.ints([2, 1, 2]), dilations: attr.ints([2, 1, 1]), group: attr.i(2) }));
  for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
    it(`with auto_pad ${autoPad}`, () => check('Conv', [
      { name: 'x', dims: [1, 2, 6, 5, 4] }, { name: 'w', dims: [3, 2, 4, 3, 2] },
    ], { auto_pad: attr.s(autoPad), strides: attr.ints([2, 2, 1]), kernel_shape: attr.ints([4, 3, 2]) }));
  }
  it('with a kernel one deep and the whole depth', async () => {
    await check('Conv', [{ name: 'x', dims: [1, 3, 4, 4, 4] }, { name: 'w', dims: [2, 3, 1, 3, 3] }], {});
    await check('Conv', [{ name: 'x', dims: [1, 3, 4, 4, 4] }, { name: 'w', dims: [2, 3, 4, 1, 1] }], {});
  });
});

describe('3-D ConvTranspose', () => {
  it('with strides, pads, output_padding, dilations, groups and bias', () => check('ConvTranspose', [
    { name: 'x', dims: [2, 4, 3, 4, 3] }, { name: 'w', dims: [4, 3, 3, 2, 3] }, { name: 'b', dims: [6] },
  ], { strides: attr.ints([2, 3, 1]), pads: attr.ints([1, 0, 1, 2, 1, 0]), output_padding: attr.ints([1, 2, 0]), dilations: attr.ints([2, 1, 1]), group: attr.i(2) }));
  it('with output_shape and auto_pad SAME_LOWER', async () => {
    await check('ConvTranspose', [{ name: 'x', dims: [1, 2, 3, 3, 3] }, { name: 'w', dims: [2, 3, 3, 3, 2] }], { strides: attr.ints([2, 2, 2]), output_shape: attr.ints([6, 5, 6]) });
    await check('ConvTranspose', [{ name: 'x', dims: [1, 2, 3, 4, 3] }, { name: 'w', dims: [2, 1, 2, 3, 3] }], { strides: attr.ints([2, 2, 1]), auto_pad: attr.s('SAME_LOWER') });
  });
});

describe('3-D pools', () => {
  it('MaxPool with pads, strides, dilations and ceil_mode', () => check('MaxPool', [{ name: 'x', dims: [1, 2, 9, 8, 7] }], {
    kernel_shape: attr.ints([3, 2, 3]), pads: attr.ints([1, 1, 0, 1, 0, 1]), strides: attr.ints([2, 2, 1]), dilations: attr.ints([2, 1, 2]), ceil_mode: attr.i(1),
  }));
  it('MaxPool with auto_pad SAME_UPPER', () => check('MaxPool', [{ name: 'x', dims: [2, 3, 5, 6, 7] }], {
    kernel_shape: attr.ints([3, 3, 2]), strides: attr.ints([2, 2, 2]), auto_pad: attr.s('SAME_UPPER'),
  }));
  for (const include of [0, 1]) {
    for (const ceil of [0, 1]) {
      // The divisor of each 3-D window is the product of its per-axis counts, padding counted
      // or not; ceil_mode's extra windows are clipped to the padded input.
      it(`AveragePool count_include_pad=${include}, ceil_mode=${ceil}`, () => check('AveragePool', [{ name: 'x', dims: [1, 2, 7, 6, 8] }], {
        kernel_shape: attr.ints([3, 2, 3]), pads: attr.ints([1, 1, 1, 1, 0, 1]), strides: attr.ints([2, 2, 3]),
        count_include_pad: attr.i(include), ceil_mode: attr.i(ceil),
      }));
    }
  }
  for (const include of [0, 1]) {
    it(`AveragePool with dilations, count_include_pad=${include}, ceil_mode (3-D and 2-D)`, async () => {
      await check('AveragePool', [{ name: 'x', dims: [1, 2, 8, 7, 9] }], {
        kernel_shape: attr.ints([2, 3, 2]), dilations: attr.ints([2, 2, 3]), pads: attr.ints([1, 0, 1, 1, 2, 1]), strides: attr.ints([2, 1, 2]),
        count_include_pad: attr.i(include), ceil_mode: attr.i(1),
      });
      await check('AveragePool', [{ name: 'x', dims: [2, 3, 9, 8] }], {
        kernel_shape: attr.ints([3, 2]), dilations: attr.ints([2, 3]), pads: attr.ints([2, 1, 1, 1]), strides: attr.ints([2, 3]), count_include_pad: attr.i(include),
      });
    });
  }
  it('LpPool with p = 2 and p = 3', async () => {
    await check('LpPool', [{ name: 'x', dims: [1, 2, 5, 6, 4] }], { kernel_shape: attr.ints([2, 3, 2]), pads: attr.ints([1, 0, 1, 0, 1, 1]), strides: attr.ints([1, 2, 2]) });
    await check('LpPool', [{ name: 'x', dims: [1, 2, 5, 4, 4] }], { kernel_shape: attr.ints([3, 2, 2]), p: attr.i(3) });
  });
});

describe('3-D refusals', () => {
  it('4-D windows are refused clearly', () => {
    const conv = model('Conv', [{ name: 'x', dims: [1, 1, 3, 3, 3, 3] }, { name: 'w', dims: [1, 1, 2, 2, 2, 2] }], {});
    expect(() => importOnnx(conv)).toThrow(UnsupportedOnnxError);
  });
});
