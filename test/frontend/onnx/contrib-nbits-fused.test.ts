// ONNX Runtime's decoder fusions of MatMulNBits (MatMulNBitsQkv, MatMulNBitsMlp), which only its
// WebGPU execution provider implements: checked against onnxruntime-node running them on that
// provider, on the same adapter, on kiln's CPU reference and on WebGPU.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler.js';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';
import { seeded } from '../../helpers/seeded.js';
import { attr, contribModel, msNode, tensor, type AttrInit } from './onnx-builder.js';

const K = 64;

/** A 4-bit weight [K, n] in blocks of 32 as MatMulNBits stores it: its B and scales initializers. */
function weight(name: string, n: number, seed: number): object[] {
  const codes = seeded(n * 32, seed);
  const scales = seeded(n * 2, seed + 1);
  return [
    tensor(`${name}_b`, 2, [n, 2, 16], Array.from(codes, (x) => Math.floor((x + 0.5) * 256))),
    tensor(`${name}_s`, 1, [n * 2], Array.from(scales, (x) => 0.02 + (x + 0.5) * 0.04)),
  ];
}

/** A one-node model of `op` over a [1, S, K] input (and a skip of its shape when `skip`). */
function model(op: string, inputs: string[], outputs: string[], inits: object[], attrs: Record<string, AttrInit>, skip: boolean): Uint8Array {
  return contribModel({
    inputs: [{ name: 'a', dims: [1, 'S', K] }, ...(skip ? [{ name: 'skip', dims: [1, 'S', K] }] : [])],
    outputs: outputs.filter((o) => o).map((name) => ({ name })),
    nodes: [msNode(op, inputs, outputs, { K: attr.i(K), bits: attr.i(4), block_size: attr.i(32), ...attrs })],
    initializers: [tensor('norm', 1, [K], Array.from(seeded(K, 3), (x) => 1 + x)), ...inits],
  });
}

const qkv = (skip: boolean) => model('MatMulNBitsQkv', ['a', skip ? 'skip' : '', 'norm', 'q_b', 'q_s', '', 'k_b', 'k_s', '', 'v_b', 'v_s'], ['q', 'k', 'v', ...(skip ? ['sum'] : [])],
  [...weight('q', 64, 10), ...weight('k', 32, 20), ...weight('v', 32, 30)], { Nq: attr.i(64), Nkv: attr.i(32), epsilon: attr.f(1e-6) }, skip);

const mlp = (norm: boolean, skip: boolean) => model('MatMulNBitsMlp', ['a', skip ? 'skip' : '', norm ? 'norm' : '', 'g_b', 'g_s', '', 'u_b', 'u_s'], ['y', ...(skip ? ['sum'] : [])],
  [...weight('g', 48, 40), ...weight('u', 48, 50)], { N: attr.i(48), activation: attr.s('silu') }, skip);

/** ONNX Runtime's outputs on its WebGPU execution provider. */
async function ortWebGpu(bytes: Uint8Array, feeds: Record<string, TensorData>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, [...t.shape])])));
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

function expectNear(got: TensorData, want: Float32Array, what: string): void {
  const g = got.data as Float32Array;
  expect(g.length, what).toBe(want.length);
  want.forEach((y, i) => { if (Math.abs(g[i]! - y) > 2e-4 * (1 + Math.abs(y))) expect.fail(`${what}[${i}]: kiln ${g[i]}, ONNX Runtime ${y}`); });
}

describe('ONNX Runtime\'s MatMulNBits decoder fusions against its WebGPU provider', () => {
  const gpu = useGpu();
  const cases: [string, () => Uint8Array, boolean][] = [
    ['MatMulNBitsQkv over input + skip, with the residual sum', () => qkv(true), true],
    ['MatMulNBitsQkv', () => qkv(false), false],
    ['MatMulNBitsMlp with the norm over input + skip, and the residual sum', () => mlp(true, true), true],
    ['MatMulNBitsMlp without a norm', () => mlp(false, false), false],
  ];
  for (const [name, build, skip] of cases) {
    it(`${name}: a decoding step and a prompt`, async () => {
      const bytes = build();
      for (const s of [1, 3]) {
        const feeds: Record<string, TensorData> = { a: tensorData('f32', [1, s, K], seeded(s * K, s)), ...(skip ? { skip: tensorData('f32', [1, s, K], seeded(s * K, s + 7)) } : {}) };
        const want = await ortWebGpu(bytes, feeds);
        const graph = importOnnx(bytes, { inputShapes: Object.fromEntries(Object.keys(feeds).map((k) => [k, [1, s, K]])) });
        const cpu = runOnCpu(graph, feeds);
        const session = await Session.create(gpu(), compile(graph));
        try {
          const got = await session.run(feeds);
          for (const out of graph.outputs) {
            expectNear(cpu[out.name]!, want[out.name]!, `${out.name} at S=${s} on the CPU reference`);
            expectNear(got[out.name]!, want[out.name]!, `${out.name} at S=${s} on WebGPU`);
          }
        } finally {
          session.destroy();
        }
      }
    });
  }

  it('refuses an activation it does not know, naming it', () => {
    const bytes = model('MatMulNBitsMlp', ['a', '', '', 'g_b', 'g_s', '', 'u_b', 'u_s'], ['y'], [...weight('g', 8, 1), ...weight('u', 8, 2)], { N: attr.i(8), activation: attr.s('gelu') }, false);
    expect(() => importOnnx(bytes, { inputShapes: { a: [1, 1, K] } })).toThrow(/MatMulNBitsMlp.*activation 'gelu' is not supported \(silu is\)/);
  });
});
