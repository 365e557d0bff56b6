// The ai.onnx.preview.training optimizer steps after the first update (T > 0), which the ONNX
// suite's cases (all at T = 0) do not reach: bias correction, learning-rate decay and beta,
// checked against the operator docs' formulas computed here in float64, on the adapter.
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler.js';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';
import { attr, encodeModelObject, modelObject, node, OnnxType, type AttrInit } from './onnx-builder.js';

const X = [0.5, -1.25, 2];
const G = [0.1, -0.3, 0.7];
const V = [0.2, 0.05, -0.4];
const H = [0.3, 0.6, 0.1];
const [R, T] = [0.05, 3];

/** A one-node model of the training domain whose float inputs all have X's shape. */
function model(op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrInit>): Uint8Array {
  const m = modelObject({
    inputs: [{ name: 'R', dims: [], type: OnnxType.FLOAT }, { name: 'T', dims: [], type: OnnxType.INT64 }, ...inputs.map((name) => ({ name, dims: [3] }))],
    outputs: outputs.map((name) => ({ name })),
    nodes: [{ ...node(op, ['R', 'T', ...inputs], outputs, attrs), domain: 'ai.onnx.preview.training' }],
  });
  return encodeModelObject({ ...m, opset_import: [{ domain: 'ai.onnx.preview.training', version: 1 }] });
}

describe('training-domain optimizer steps at T > 0', () => {
  const gpu = useGpu();

  async function run(bytes: Uint8Array, feeds: Record<string, number[]>): Promise<Record<string, TensorData>> {
    const session = await Session.create(gpu(), compile(importOnnx(bytes)));
    try {
      return await session.run({
        R: tensorData('f32', [], [R]), T: tensorData('i32', [], [T]),
        ...Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tensorData('f32', [3], v)])),
      });
    } finally {
      session.destroy();
    }
  }

  function expectNear(got: TensorData, want: number[]) {
    Array.from(got.data as Float32Array).forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
  }

  it('Adam corrects the learning rate by sqrt(1 - beta^T) / (1 - alpha^T) and decays after the step', async () => {
    const [alpha, beta, eps, norm, post] = [0.9, 0.99, 1e-3, 0.01, 0.1];
    const out = await run(model('Adam', ['X', 'G', 'V', 'H'], ['Xn', 'Vn', 'Hn'], {
      alpha: attr.f(alpha), beta: attr.f(beta), epsilon: attr.f(eps), norm_coefficient: attr.f(norm), norm_coefficient_post: attr.f(post),
    }), { X, G, V, H });
    const g = X.map((x, i) => norm * x + G[i]!);
    const v = g.map((gi, i) => alpha * V[i]! + (1 - alpha) * gi);
    const h = g.map((gi, i) => beta * H[i]! + (1 - beta) * gi * gi);
    const r = (R * Math.sqrt(1 - beta ** T)) / (1 - alpha ** T);
    expectNear(out['Xn']!, X.map((x, i) => (1 - post) * (x - (r * v[i]!) / (Math.sqrt(h[i]!) + eps))));
    expectNear(out['Vn']!, v);
    expectNear(out['Hn']!, h);
  });

  it('Momentum applies beta from the second step on, standard and nesterov', async () => {
    const [alpha, beta, norm] = [0.9, 0.25, 0.01];
    for (const mode of ['standard', 'nesterov']) {
      const out = await run(model('Momentum', ['X', 'G', 'V'], ['Xn', 'Vn'], { alpha: attr.f(alpha), beta: attr.f(beta), norm_coefficient: attr.f(norm), mode: attr.s(mode) }), { X, G, V });
      const g = X.map((x, i) => norm * x + G[i]!);
      const v = g.map((gi, i) => alpha * V[i]! + beta * gi);
      const step = mode === 'standard' ? v : g.map((gi, i) => gi + alpha * v[i]!);
      expectNear(out['Xn']!, X.map((x, i) => x - R * step[i]!));
      expectNear(out['Vn']!, v);
    }
  });

  it('Adagrad decays the learning rate with the update count', async () => {
    const [decay, eps, norm] = [0.1, 1e-5, 0.01];
    const out = await run(model('Adagrad', ['X', 'G', 'H'], ['Xn', 'Hn'], { decay_factor: attr.f(decay), epsilon: attr.f(eps), norm_coefficient: attr.f(norm) }), { X, G, H });
    const r = R / (1 + T * decay);
    const g = X.map((x, i) => norm * x + G[i]!);
    const h = g.map((gi, i) => H[i]! + gi * gi);
    expectNear(out['Xn']!, X.map((x, i) => x - (r * g[i]!) / (Math.sqrt(h[i]!) + eps)));
    expectNear(out['Hn']!, h);
  });
});
