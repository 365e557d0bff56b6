// NaN in, NaN out on the device: every op family that picks, clamps or compares, against the
// CPU reference (itself checked against hand-written values in test/runtime/cpu/nan.test.ts),
// on random inputs sprinkled with NaN. Shader compilers may assume NaN away (WGSL allows it),
// so these run the real compiled kernels, fused as compile() fuses them.
import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../src/ir/attrs.js';
import { fromF16Array } from '../../src/ir/f16.js';
import { Graph, type Value } from '../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { numel, type DType, type Shape } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

/** Normal values on a coarse grid (ties for arg-reductions), each NaN with probability `rate`. */
function withNaN(dtype: DType, shape: Shape, rate: number, seed: number): TensorData {
  const rng = new Random(seed);
  const values = Array.from({ length: numel(shape) }, () => (rng.next() < rate ? NaN : Math.round(4 * rng.normal()) / 2));
  return tensorData(dtype, shape, dtype === 'i32' ? values.map((v) => (Number.isNaN(v) ? 7 : v)) : values);
}

type Build = (g: Graph, xs: Value[]) => Value[];

/**
 * Builds a graph over inputs of `shapes`, runs it on the device and on the CPU reference, and
 * compares every output (NaN equal only to NaN). Each float output must hold both NaN and
 * numbers, so that no case passes by having nothing to propagate. Returns each kernel's WGSL.
 */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, shapes: Shape[], rate: number, build: Build, dtype: DType = 'f32', tol = 1e-5): Promise<string[]> {
  const g = new Graph('nan');
  const xs = shapes.map((s, i) => g.addInput(`x${i}`, { dtype, shape: s, device: 'webgpu' }));
  const outs = build(g, xs);
  g.setOutputs(outs);
  expectRoundTrip(g);
  const inputs = Object.fromEntries(shapes.map((s, i) => [`x${i}`, withNaN(dtype, s, rate, 17 + i)]));
  const { gpu, cpu } = await runBoth(device, g, inputs);
  const f32 = (t: TensorData) => (t.dtype === 'f16' ? tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array)) : t);
  for (const v of outs) {
    const want = f32(cpu[v.name]!);
    const label = `${v.producer!.op} -> [${v.type.shape.join(',')}]`;
    if (want.dtype === 'f32') {
      const nans = Array.from(want.data, Number).filter(Number.isNaN).length;
      expect(nans > 0 && nans < want.data.length, `${label}: the reference holds NaN and numbers`).toBe(true);
    }
    try {
      expectClose(f32(gpu[v.name]!), want, tol, tol);
    } catch (e) {
      throw new Error(`${label}: ${(e as Error).message}`);
    }
  }
  return compile(g).kernels.map((k) => k.wgsl);
}

const unary = (op: string, attrs: Attrs = {}): Build => (g, [x]) => [g.addNode(op, [x!], attrs).output];

describe('NaN propagates on the device as on the CPU reference', () => {
  const gpu = useGpu();

  it('activations, clip and the smooth functions', async () => {
    const ops: [string, Attrs][] = [
      ['relu', {}], ['leaky_relu', { alpha: 0.1 }], ['hardsigmoid', {}], ['hardsigmoid', { alpha: 0.2, beta: 0.4 }], ['hardswish', {}],
      ['clip', { min: 0, max: 6 }], ['clip', { min: -1 }], ['clip', { max: 0.5 }], ['clip', { min: 1, max: -1 }],
      ['tanh', {}], ['gelu', {}], ['gelu', { approximate: 'tanh' }], ['sigmoid', {}], ['silu', {}], ['softplus', {}], ['erf', {}], ['abs', {}],
    ];
    await check(gpu(), [[3, 100]], 0.1, (g, [x]) => ops.map(([op, attrs]) => g.addNode(op, [x!], attrs).output));
  });

  it('maximum and minimum, NaN on either side, broadcasting', async () => {
    await check(gpu(), [[4, 1, 50], [3, 1]], 0.15, (g, [a, b]) => [g.addNode('maximum', [a!, b!]).output, g.addNode('minimum', [b!, a!]).output]);
  });

  it('comparisons stay IEEE: NaN compares false, and is not equal to itself', async () => {
    const ops = ['equal', 'not_equal', 'less', 'less_equal', 'greater', 'greater_equal'];
    await check(gpu(), [[200], [200]], 0.2, (g, [a, b]) => [...ops.map((op) => g.addNode(op, [a!, b!]).output), g.addNode('not_equal', [a!, a!]).output]);
  });

  it('in f16: relu, clip, maximum, minimum, hardsigmoid (f16 arithmetic: to 4e-3)', async () => {
    await check(gpu(), [[257], [257]], 0.1, (g, [a, b]) => {
      const [h, k] = [a!, b!].map((v) => g.addNode('cast', [v], { to: 'f16' }).output);
      const back = (v: Value) => g.addNode('cast', [v], { to: 'f32' }).output;
      return [
        back(g.addNode('relu', [h!]).output), back(g.addNode('clip', [h!], { min: 0, max: 6 }).output), back(g.addNode('hardsigmoid', [h!]).output),
        back(g.addNode('maximum', [h!, k!]).output), back(g.addNode('minimum', [h!, k!]).output),
      ];
    }, 'f32', 4e-3);
  });

  it('max and min reductions, one invocation per output and one workgroup per output', async () => {
    // [40, 30] over axis 1 runs an invocation per row; [3, 4000] a workgroup per row.
    for (const shape of [[40, 30], [3, 4000], [5, 7, 9]] as Shape[]) {
      const rate = 1 / (2 * shape.slice(1).reduce((p, d) => p * d, 1));
      const wgsl = await check(gpu(), [shape], rate, (g, [x]) => [
        g.addNode('max', [x!], { axes: shape.slice(1).map((_, i) => i + 1) }).output,
        g.addNode('min', [x!], { axes: shape.slice(1).map((_, i) => i + 1) }).output,
      ]);
      expect(wgsl.some((k) => k.includes('workgroupBarrier'))).toBe(shape[1] === 4000);
    }
  });

  it('fused reductions: prologues and epilogues calling the same helpers as the reduction, and global max pooling', async () => {
    const wgsl = await check(gpu(), [[2, 3, 5, 5]], 0.02, (g, [x]) => {
      const pooled = g.addNode('max', [g.addNode('relu', [x!]).output], { axes: [2, 3] }).output;
      const mean = g.addNode('mean', [g.addNode('clip', [x!], { min: -1, max: 1 }).output], { axes: [2, 3] }).output;
      return [g.addNode('relu', [pooled]).output, g.addNode('maximum', [mean, mean]).output, g.addNode('max', [x!], { axes: [2, 3], keepdims: true }).output];
    });
    expect(wgsl.some((k) => k.includes('p0[off]') && k.includes('fn epilogue')), 'a reduction with a prologue and an epilogue').toBe(true);
  });

  it('argmax and argmin: NaN wins, ties go to the first or the last index, in both kernel variants', async () => {
    for (const [shape, rate] of [[[40, 30], 0.01], [[3, 4000], 1e-4], [[6, 5, 4], 0.02]] as [Shape, number][]) {
      await check(gpu(), [shape], rate, (g, [x]) => ['argmax', 'argmin'].flatMap((op) => [false, true].map((last) =>
        g.addNode(op, [x!], { axis: 1, select_last_index: last }).output)));
    }
    await check(gpu(), [[4, 300]], 0, (g, [x]) => ['argmax', 'argmin'].flatMap((op) => [false, true].map((last) =>
      g.addNode(op, [x!], { axis: 1, select_last_index: last }).output)), 'i32');
  });

  it('max pooling, with padding and dilation', async () => {
    await check(gpu(), [[1, 2, 9, 9]], 0.03, (g, [x]) => [
      g.addNode('max_pool2d', [x!], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }).output,
      g.addNode('max_pool2d', [x!], { kernel_size: [2, 2], dilation: [2, 2] }).output,
    ]);
    // Rows a multiple of 4 long: the kernel computing four outputs an invocation.
    await check(gpu(), [[1, 2, 6, 16]], 0.03, (g, [x]) => [
      g.addNode('max_pool2d', [x!], { kernel_size: [2, 2] }).output,
      g.addNode('max_pool2d', [x!], { kernel_size: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1] }).output,
    ]);
  });

  it('softmax, log_softmax and layer_norm: a NaN makes its row NaN', async () => {
    for (const shape of [[40, 30], [2, 5000]] as Shape[]) {
      const rate = 1 / (2 * shape[1]!);
      await check(gpu(), [shape], rate, (g, [x]) => [
        g.addNode('softmax', [x!], { axis: -1 }).output, g.addNode('log_softmax', [x!], { axis: -1 }).output,
        g.addNode('layer_norm', [x!], { axis: -1 }).output,
      ]);
    }
  });

  it('the max pooling gradient goes where the CPU reference sends it (the last NaN of a window)', async () => {
    const g = new Graph('pool_grad');
    const x = g.addInput('x', { dtype: 'f32', shape: [1, 2, 9, 9], device: 'webgpu' });
    const dy = g.addInput('dy', { dtype: 'f32', shape: [1, 2, 5, 5], device: 'webgpu' });
    g.setOutputs([g.addNode('max_pool2d_backward', [x, dy], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }).output]);
    const inputs = { x: withNaN('f32', [1, 2, 9, 9], 0.1, 3), dy: tensorData('f32', [1, 2, 5, 5], Array.from({ length: 50 }, (_, i) => i + 1)) };
    const { gpu: got, cpu } = await runBoth(gpu(), g, inputs);
    const name = g.outputs[0]!.name;
    expectClose(got[name]!, cpu[name]!, 0, 0);
  });

  it('conv2d with a fused relu', async () => {
    await check(gpu(), [[1, 2, 12, 12], [3, 2, 3, 3]], 0.01, (g, [x, w]) => [g.addNode('relu', [g.addNode('conv2d', [x!, w!]).output]).output]);
  });
});
