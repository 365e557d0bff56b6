import { describe, expect, it } from 'vitest';
import { analyzePerformance } from 'wgsl_reflect/wgsl_reflect.module.js';
import { Graph } from '../../src/ir/graph.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import type { Attrs } from '../../src/ir/attrs.js';
import type { DType, Shape } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import { emitMatmul } from '../../src/codegen/kernels/matmul.js';
import { reflectKernel } from '../../src/runtime/reflect.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

const TOL = { atol: 1e-4, rtol: 1e-4 };

/** A gemm graph over fresh random inputs of the given shapes, run on both devices and compared. */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, shapes: Shape[], attrs: Attrs = {}, dtype: DType = 'f32', tol = TOL) {
  const g = new Graph('gemm');
  const ins = shapes.map((s, i) => g.addInput(`x${i}`, { dtype, shape: s, device: 'webgpu' }));
  g.setOutputs([g.addNode('gemm', ins, attrs).output]);
  expectRoundTrip(g);
  const rng = new Random(shapes.flat().reduce((a, b) => a * 31 + b, 3));
  const inputs = Object.fromEntries(shapes.map((s, i) => {
    const t = randomData(dtype === 'f16' ? 'f32' : dtype, s, rng);
    return [`x${i}`, dtype === 'f16' ? tensorData('f16', s, toF16Array(t.data as Float32Array)) : t];
  }));
  const { gpu, cpu } = await runBoth(device, g, inputs);
  const name = g.outputs[0]!.name;
  expectClose(asF32(gpu[name]!), asF32(cpu[name]!), tol.atol, tol.rtol);
}

/** f16 tensors decoded to f32 for comparison (their data are raw bits). */
const asF32 = (t: TensorData): TensorData => (t.dtype === 'f16' ? tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array)) : t);

describe('the matmul emitter extended for gemm', () => {
  const plain = { name: 'matmul', dtype: 'f32' as const, m: 5, n: 6, k: 7, batchShape: [], aBatchStrides: [], bBatchStrides: [], sources: { a: 0, b: 1, out: 2 } };
  it('emits the plain matmul unchanged when no gemm option is set (A, B, C then uniforms)', () => {
    const k = emitMatmul(plain);
    expect(k.wgsl).not.toMatch(/alpha|beta|bias/);
    expect(reflectKernel({ name: k.name, wgsl: k.wgsl, entryPoint: 'main' }).bindings.map((b) => [b.binding, b.name, b.kind]))
      .toEqual([[0, 'A', 'read-only-storage'], [1, 'B', 'read-only-storage'], [2, 'C', 'storage'], [3, 'u', 'uniform']]);
  });
  it('with a bias, binds it between B and the output; alpha and beta are uniforms, so they share one shader', () => {
    const a = emitMatmul({ ...plain, transA: true, alpha: 0.5, bias: { rowStride: 0, colStride: 1, beta: 2 }, sources: { a: 0, b: 1, bias: 2, out: 3 } });
    const b = emitMatmul({ ...plain, transA: true, alpha: 3, bias: { rowStride: 0, colStride: 1, beta: -1 }, sources: { a: 0, b: 1, bias: 2, out: 3 } });
    expect(a.wgsl).toBe(b.wgsl);
    expect(a.uniforms).not.toEqual(b.uniforms);
    expect(reflectKernel({ name: a.name, wgsl: a.wgsl, entryPoint: 'main' }).bindings.map((x) => [x.binding, x.name]))
      .toEqual([[0, 'A'], [1, 'B'], [2, 'bias'], [3, 'C'], [4, 'u']]);
    const bad = analyzePerformance(a.wgsl).findings.filter((f) => f.severity === 'medium' || f.severity === 'high');
    expect(bad.map((f) => f.message)).toEqual([]);
  });
  it('gemm compiles to one dispatch of the matmul emitter', () => {
    const g = new Graph('gemm');
    const a = g.addInput('a', { dtype: 'f32', shape: [4, 3], device: 'webgpu' });
    const b = g.addInput('b', { dtype: 'f32', shape: [3, 2], device: 'webgpu' });
    const c = g.addInput('c', { dtype: 'f32', shape: [2], device: 'webgpu' });
    g.setOutputs([g.addNode('gemm', [a, b, c], { beta: 0.5 }).output]);
    const p = compile(g);
    expect(p.dispatches).toHaveLength(1);
    expect(p.kernels[0]!.wgsl).toMatch(/var<storage, read> bias/);
  });
});

describe('WebGPU gemm agrees with the CPU reference', () => {
  const gpu = useGpu();

  it('odd sizes without C, and a tile multiple', async () => {
    await check(gpu(), [[33, 17], [17, 45]]);
    await check(gpu(), [[64, 64], [64, 64]]);
  });
  it('transposed A, transposed B, both', async () => {
    await check(gpu(), [[17, 33], [17, 45]], { trans_a: true });
    await check(gpu(), [[33, 17], [45, 17]], { trans_b: true });
    await check(gpu(), [[17, 33], [45, 17], [45]], { trans_a: true, trans_b: true });
  });
  it('C broadcast as a row, a column, a scalar, [1, 1] and a full matrix, with alpha and beta', async () => {
    await check(gpu(), [[33, 17], [17, 45], [45]], { alpha: 0.5, beta: -2 });
    await check(gpu(), [[33, 17], [17, 45], [33, 1]], { beta: 0.25 });
    await check(gpu(), [[9, 5], [5, 7], []], { alpha: -1 });
    await check(gpu(), [[9, 5], [7, 5], [1, 1]], { trans_b: true, beta: 3 });
    await check(gpu(), [[9, 5], [5, 7], [9, 7]], { alpha: 2, beta: 0.5 });
  });
  it('1 x K x 1, and beta = 0', async () => {
    await check(gpu(), [[1, 300], [300, 1], [1]]);
    await check(gpu(), [[300, 1], [300, 1], [1, 1]], { trans_a: true, beta: 0 });
  });
  it('f16, accumulating in f32', () => check(gpu(), [[17, 33], [45, 17], [45]], { trans_a: true, trans_b: true, alpha: 0.5 }, 'f16', { atol: 2e-2, rtol: 2e-3 }));
  it('i32', () => check(gpu(), [[7, 9], [3, 9], [3]], { trans_b: true }, 'i32', { atol: 0, rtol: 0 }));
});
