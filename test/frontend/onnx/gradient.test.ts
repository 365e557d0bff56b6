// The ai.onnx.preview.training Gradient beyond the ONNX suite's two scalar cases: a trainable
// initializer, values substituted for the named tensors, an intermediate tensor as x, a y of
// several elements. Expected values are the derivatives' formulas computed here in float64.
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler.js';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';
import { attr, encodeModelObject, modelObject, node, OnnxType, tensor, type IoInit, type NodeInit } from './onnx-builder.js';

const TRAINING = 'ai.onnx.preview.training';

/** A model of ONNX nodes and one Gradient node (xs, zs, y) fed `inputs`, returning `outputs`. */
function model(m: { inputs: IoInit[]; outputs: string[]; nodes: NodeInit[]; gradient: { inputs: string[]; outputs: string[]; xs: string[]; zs?: string[]; y: string }; initializers?: object[] }): Uint8Array {
  const g = m.gradient;
  const gradient = { ...node('Gradient', g.inputs, g.outputs, { xs: attr.strings(g.xs), ...(g.zs ? { zs: attr.strings(g.zs) } : {}), y: attr.s(g.y) }, 'grad'), domain: TRAINING };
  const obj = modelObject({ inputs: m.inputs, outputs: m.outputs.map((name) => ({ name })), nodes: [gradient, ...m.nodes], initializers: m.initializers ?? [] });
  return encodeModelObject({ ...obj, opset_import: [{ domain: '', version: 17 }, { domain: TRAINING, version: 1 }] });
}

describe('ONNX Gradient (ai.onnx.preview.training)', () => {
  const gpu = useGpu();

  async function run(bytes: Uint8Array, feeds: Record<string, { shape: number[]; values: number[] }>): Promise<Record<string, TensorData>> {
    const session = await Session.create(gpu(), compile(importOnnx(bytes)));
    try {
      return await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tensorData('f32', v.shape, v.values)])));
    } finally {
      session.destroy();
    }
  }

  const expectNear = (got: TensorData | undefined, want: number[]) => {
    expect(got).toBeDefined();
    expect(got!.data.length).toBe(want.length);
    Array.from(got!.data as Float32Array).forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
  };

  it('differentiates a loss with respect to an initializer and an input, others held (zs); the Gradient may come first in the file', async () => {
    // O = sum(tanh(X W + Z)), X [2,3] held, W [3,2] an initializer, Z [2] broadcast over rows.
    const [X, W, Z] = [[0.5, -1, 2, 0.25, 0.75, -0.5], [0.1, -0.2, 0.3, 0.05, -0.4, 0.2], [0.1, -0.3]];
    const bytes = model({
      inputs: [{ name: 'X', dims: [2, 3] }, { name: 'Z', dims: [2] }],
      initializers: [tensor('W', OnnxType.FLOAT, [3, 2], W)],
      nodes: [node('MatMul', ['X', 'W'], ['XW']), node('Add', ['XW', 'Z'], ['Y']), node('Tanh', ['Y'], ['T']), node('ReduceSum', ['T'], ['O'], { keepdims: attr.i(0) })],
      outputs: ['O', 'dW', 'dZ'],
      gradient: { inputs: ['W', 'Z', 'X'], outputs: ['dW', 'dZ'], xs: ['W', 'Z'], zs: ['X'], y: 'O' },
    });
    const out = await run(bytes, { X: { shape: [2, 3], values: X }, Z: { shape: [2], values: Z } });
    // dO/dY = 1 - tanh(Y)^2; dO/dW = X^T dY; dO/dZ = column sums of dY.
    const dY = [0, 1].flatMap((r) => [0, 1].map((c) => 1 - Math.tanh([0, 1, 2].reduce((s, k) => s + X[r * 3 + k]! * W[k * 2 + c]!, Z[c]!)) ** 2));
    expectNear(out['dW'], [0, 1, 2].flatMap((k) => [0, 1].map((c) => X[k]! * dY[c]! + X[3 + k]! * dY[2 + c]!)));
    expectNear(out['dZ'], [0, 1].map((c) => dY[c]! + dY[2 + c]!));
  });

  it('evaluates at the values it is given, not at the named tensors\'; an intermediate tensor may be an x', async () => {
    // c = a * a at a; the Gradient is fed a2 for a: dc/da = 2 a2. h = 3 a; e = sum(h * h): de/dh = 2 h at h's own value.
    const bytes = model({
      inputs: [{ name: 'a', dims: [3] }, { name: 'a2', dims: [3] }],
      nodes: [node('Mul', ['a', 'a'], ['c']), node('ReduceSum', ['c'], ['s'], { keepdims: attr.i(0) })],
      outputs: ['s', 'da'],
      gradient: { inputs: ['a2'], outputs: ['da'], xs: ['a'], y: 's' },
    });
    const [a, a2] = [[1, -2, 0.5], [3, 0.25, -1]];
    expectNear((await run(bytes, { a: { shape: [3], values: a }, a2: { shape: [3], values: a2 } }))['da'], a2.map((v) => 2 * v));
    const inner = model({
      inputs: [{ name: 'a', dims: [3] }],
      initializers: [tensor('three', OnnxType.FLOAT, [], [3])],
      nodes: [node('Mul', ['a', 'three'], ['h']), node('Mul', ['h', 'h'], ['hh']), node('ReduceSum', ['hh'], ['e'], { keepdims: attr.i(0) })],
      outputs: ['e', 'dh'],
      gradient: { inputs: ['h'], outputs: ['dh'], xs: ['h'], y: 'e' },
    });
    expectNear((await run(inner, { a: { shape: [3], values: a } }))['dh'], a.map((v) => 2 * 3 * v));
  });

  it('differentiates a y of several elements as the sum of its elements', async () => {
    const bytes = model({
      inputs: [{ name: 'a', dims: [2, 2] }, { name: 'b', dims: [2] }],
      nodes: [node('Mul', ['a', 'b'], ['y'])],
      outputs: ['y', 'da', 'db'],
      gradient: { inputs: ['a', 'b'], outputs: ['da', 'db'], xs: ['a', 'b'], y: 'y' },
    });
    const [a, b] = [[1, 2, -3, 4], [0.5, -2]];
    const out = await run(bytes, { a: { shape: [2, 2], values: a }, b: { shape: [2], values: b } });
    expectNear(out['da'], [b[0]!, b[1]!, b[0]!, b[1]!]);
    expectNear(out['db'], [a[0]! + a[2]!, a[1]! + a[3]!]);
  });

  it('refuses what it cannot differentiate, naming the node and the tensor', () => {
    const base = { inputs: [{ name: 'a', dims: [3] }, { name: 'k', dims: [3], type: OnnxType.INT32 }], outputs: ['y', 'g'] };
    const cast = [node('Cast', ['k'], ['kf'], { to: attr.i(OnnxType.FLOAT) }), node('Mul', ['a', 'kf'], ['y'])];
    expect(() => importOnnx(model({ ...base, nodes: cast, gradient: { inputs: ['k'], outputs: ['g'], xs: ['k'], y: 'y' } })))
      .toThrow(/node 'grad' \(Gradient\).*differentiates with respect to 'k', given i32 values; gradients need floats/);
    expect(() => importOnnx(model({ ...base, nodes: cast, gradient: { inputs: ['a'], outputs: ['g'], xs: ['a'], zs: ['k'], y: 'y' } })))
      .toThrow(/node 'grad' \(Gradient\).*takes one input per name in xs and zs \(2: a, k\), got 1/);
    expect(() => importOnnx(model({ ...base, nodes: cast, gradient: { inputs: ['a'], outputs: ['g'], xs: ['a'], y: 'missing' } })))
      .toThrow(/node 'grad' reads 'missing'/);
    // An op on the path without a gradient rule is named.
    const roi = model({
      inputs: [{ name: 'x', dims: [1, 1, 4, 4] }], outputs: ['y', 'g'],
      initializers: [tensor('rois', OnnxType.FLOAT, [1, 4], [0, 0, 2, 2]), tensor('idx', OnnxType.INT64, [1], [0])],
      nodes: [node('RoiAlign', ['x', 'rois', 'idx'], ['y'], { output_height: attr.i(2), output_width: attr.i(2) })],
      gradient: { inputs: ['x'], outputs: ['g'], xs: ['x'], y: 'y' },
    });
    expect(() => importOnnx(roi)).toThrow(/node 'grad' \(Gradient\).*roi_align/);
  });
});
