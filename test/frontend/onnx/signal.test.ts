// DFT and STFT (matmuls with constant cosine/sine matrices) against ONNX Runtime.
import { describe, it } from 'vitest';
import { attr, buildModel, node, OnnxType, tensor, type AttrInit } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';

const I64 = OnnxType.INT64;

function dft(dims: number[], attrs: Record<string, AttrInit>, opts: { length?: number; axis?: number; opset?: number } = {}): Uint8Array {
  const opset = opts.opset ?? 20;
  const initializers = [
    ...(opts.length !== undefined ? [tensor('len', I64, [], [opts.length])] : []),
    ...(opts.axis !== undefined && opset >= 20 ? [tensor('axis', I64, [], [opts.axis])] : []),
  ];
  const inputs = ['x', opts.length !== undefined ? 'len' : '', ...(opts.axis !== undefined && opset >= 20 ? ['axis'] : [])];
  while (inputs.at(-1) === '') inputs.pop();
  return buildModel({
    opset, inputs: [{ name: 'x', dims }], outputs: [{ name: 'out' }], initializers,
    nodes: [node('DFT', inputs, ['out'], { ...attrs, ...(opset < 20 && opts.axis !== undefined ? { axis: attr.i(opts.axis) } : {}) })],
  });
}

describe('DFT', () => {
  it('real signal, default axis', () => expectSameAsOrt(dft([2, 8, 1], {}), { tol: 1e-4 }).then(() => undefined));
  it('complex signal on an inner axis (opset 17 attribute)', () => expectSameAsOrt(dft([2, 5, 3, 2], {}, { axis: 1, opset: 17 }), { tol: 1e-4 }).then(() => undefined));
  it('onesided, odd length', () => expectSameAsOrt(dft([3, 7, 1], { onesided: attr.i(1) }, { axis: 1 }), { tol: 1e-4 }).then(() => undefined));
  it('dft_length pads and truncates', async () => {
    await expectSameAsOrt(dft([2, 6, 2], {}, { length: 9, axis: 1 }), { tol: 1e-4 });
    await expectSameAsOrt(dft([2, 6, 2], {}, { length: 4, axis: 1 }), { tol: 1e-4 });
  });
  it('inverse of a complex signal, negative axis', () => expectSameAsOrt(dft([2, 3, 6, 2], { inverse: attr.i(1) }, { axis: -2 }), { tol: 1e-4 }).then(() => undefined));
});

describe('STFT', () => {
  it('with a window, onesided', () => expectSameAsOrt(buildModel({
    opset: 17, inputs: [{ name: 'x', dims: [2, 40, 1] }, { name: 'w', dims: [8] }], outputs: [{ name: 'out' }],
    initializers: [tensor('step', I64, [], [3])],
    nodes: [node('STFT', ['x', 'step', 'w'], ['out'])],
  }), { tol: 1e-4 }).then(() => undefined));
  it('with a frame length, two-sided, complex signal', () => expectSameAsOrt(buildModel({
    opset: 17, inputs: [{ name: 'x', dims: [1, 30, 2] }], outputs: [{ name: 'out' }],
    initializers: [tensor('step', I64, [], [4]), tensor('len', I64, [], [6])],
    nodes: [node('STFT', ['x', 'step', '', 'len'], ['out'], { onesided: attr.i(0) })],
  }), { tol: 1e-4 }).then(() => undefined));
});

describe('window functions and the mel filter bank (constants at import)', () => {
  for (const op of ['HannWindow', 'HammingWindow', 'BlackmanWindow']) {
    for (const periodic of [1, 0]) {
      it(`${op}, periodic=${periodic}`, () => expectSameAsOrt(buildModel({
        opset: 17, inputs: [], outputs: [{ name: 'out' }], initializers: [tensor('size', I64, [], [11])],
        nodes: [node(op, ['size'], ['out'], { periodic: attr.i(periodic) })],
      })).then(() => undefined));
    }
  }
  it('MelWeightMatrix', () => expectSameAsOrt(buildModel({
    opset: 17, inputs: [], outputs: [{ name: 'out' }],
    initializers: [
      tensor('bins', I64, [], [6]), tensor('len', I64, [], [32]), tensor('rate', I64, [], [16000]),
      tensor('lo', OnnxType.FLOAT, [], [100]), tensor('hi', OnnxType.FLOAT, [], [7000]),
    ],
    nodes: [node('MelWeightMatrix', ['bins', 'len', 'rate', 'lo', 'hi'], ['out'])],
  })).then(() => undefined));
});
