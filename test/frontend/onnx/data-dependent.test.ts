// NonZero, Unique and NonMaxSuppression in small models, checked against ONNX Runtime (kiln's CPU
// reference at the run's sizes), alone and followed by ops that read their data-dependent extent.
import { describe, expect, it } from 'vitest';
import { attr, buildModel, node, OnnxType } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';

const I64 = OnnxType.INT64;

describe('data-dependent ONNX ops against ONNX Runtime', () => {
  it('NonZero, then Transpose and GatherND: the elements it found (x[x != 0])', async () => {
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: [3, 4] }], outputs: [{ name: 'idx', type: I64 }, { name: 'out' }],
      nodes: [node('NonZero', ['x'], ['nz']), node('Transpose', ['nz'], ['idx']), node('GatherND', ['x', 'idx'], ['out'])],
    });
    for (const values of [[0, 1.5, 0, -2, 3, 0, 0, 0, NaN, 0, 4, 0], new Array<number>(12).fill(0)]) {
      await expectSameAsOrt(bytes, { inputs: { x: tensorData('f32', [3, 4], values) } });
    }
  });

  it('Unique of integers with every output, sorted and not, along an axis', async () => {
    for (const sorted of [0, 1]) {
      const bytes = buildModel({
        opset: 11, inputs: [{ name: 'x', dims: [4, 2], type: I64 }], outputs: ['y', 'i', 'inv', 'c'].map((name) => ({ name, type: I64 })),
        nodes: [node('Unique', ['x'], ['y', 'i', 'inv', 'c'], { sorted: attr.i(sorted), axis: attr.i(0) })],
      });
      await expectSameAsOrt(bytes, { onnxTypes: { x: I64 }, inputs: { x: tensorData('i32', [4, 2], [3, 1, 0, 2, 3, 1, -1, 5]) } });
    }
  });

  it('NonMaxSuppression with its parameters given at run time, then Gather of the kept box indices', async () => {
    const bytes = buildModel({
      opset: 11,
      inputs: [{ name: 'boxes', dims: [1, 4, 4] }, { name: 'scores', dims: [1, 2, 4] }, { name: 'max', dims: [1], type: I64 }, { name: 'iou', dims: [1] }, { name: 'score', dims: [1] }],
      outputs: [{ name: 'sel', type: I64 }, { name: 'box', type: I64 }],
      nodes: [
        node('NonMaxSuppression', ['boxes', 'scores', 'max', 'iou', 'score'], ['sel'], { center_point_box: attr.i(0) }),
        node('Gather', ['sel', 'two'], ['box'], { axis: attr.i(1) }),
      ],
      initializers: [{ name: 'two', data_type: I64, dims: [], int64_data: [2] }],
    });
    const inputs = (max: number, score: number) => ({
      boxes: tensorData('f32', [1, 4, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 5, 1, 6, 0.9, 0.9, 0, 0]),
      scores: tensorData('f32', [1, 2, 4], [0.9, 0.8, 0.7, 0.6, 0.1, 0.5, 0.5, 0.2]),
      max: tensorData('i32', [1], [max]), iou: tensorData('f32', [1], [0.5]), score: tensorData('f32', [1], [score]),
    });
    for (const [max, score] of [[3, 0], [1, 0.55], [0, 0]]) {
      await expectSameAsOrt(bytes, { onnxTypes: { max: I64 }, inputs: inputs(max, score) });
    }
  });

  it('refuses the shape of a data-dependent result used as data, clearly', () => {
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: [3] }], outputs: [{ name: 's', type: I64 }],
      nodes: [node('NonZero', ['x'], ['nz']), node('Shape', ['nz'], ['s'])],
    });
    expect(() => importOnnx(bytes)).toThrow(UnsupportedOnnxError);
    expect(() => importOnnx(bytes)).toThrow(/computed from sizes that vary from run to run and is used as a tensor/);
  });
});
