import { describe, expect, it } from 'vitest';
import { fixedDispatch } from '../../src/codegen/kernels/kernel.js';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { Graph } from '../../src/ir/graph.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';
import type { Attrs } from '../../src/ir/attrs.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { numel, type Shape } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import type { ReduceVariant } from '../../src/codegen/kernels/reduce.js';
import { emitSoftmax } from '../../src/codegen/kernels/softmax.js';
import { emitLayerNorm } from '../../src/codegen/kernels/norm.js';
import type { EmittedKernel } from '../../src/codegen/kernels/kernel.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

const WG: ReduceVariant = 'workgroup';
const INV: ReduceVariant = 'invocation';
const TOL = { atol: 2e-6, rtol: 2e-5 };

/**
 * A one-node graph over `inputs`, run on the device and on the CPU reference, compared.
 * `variant` is the row kernel the sizes are meant to select (none for elementwise ops).
 */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, op: string, inputs: TensorData[], attrs: Attrs, variant?: ReduceVariant, tol = TOL) {
  const g = new Graph(op);
  const ins = inputs.map((x, i) => g.addInput(`x${i}`, { dtype: x.dtype, shape: x.shape, device: 'webgpu' }));
  g.setOutputs([g.addNode(op, ins, attrs).output]);
  expectRoundTrip(g);
  if (variant) {
    expect(compile(g).kernels[0]!.wgsl.includes('workgroupBarrier'), `${op} on [${inputs[0]!.shape.join(',')}] uses the ${variant} variant`).toBe(variant === WG);
  }
  const { gpu, cpu } = await runBoth(device, g, Object.fromEntries(inputs.map((x, i) => [`x${i}`, x])));
  const name = g.outputs[0]!.name;
  expectClose(asF32(gpu[name]!), asF32(cpu[name]!), tol.atol, tol.rtol);
}

/** f16 tensors decoded to f32 for comparison (their data are raw bits). */
const asF32 = (t: TensorData): TensorData => (t.dtype === 'f16' ? tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array)) : t);
const toF16 = (t: TensorData): TensorData => tensorData('f16', t.shape, toF16Array(t.data as Float32Array));

let seed = 1;
/** Normal floats scaled by `scale` and shifted by `shift`. */
const normal = (shape: Shape, scale = 1, shift = 0) => {
  const rng = new Random(seed++);
  return tensorData('f32', shape, Array.from({ length: numel(shape) }, () => rng.normal() * scale + shift));
};
/** Positive variances, as batch_norm's running statistics are. */
const variance = (c: number) => {
  const rng = new Random(seed++);
  return tensorData('f32', [c], Array.from({ length: c }, () => Math.abs(rng.normal()) + 0.1));
};

/** Interprets a kernel (wgsl_reflect) over host buffers [x, ...rest, out], reporting races between lanes. */
function interpret(k: EmittedKernel, buffers: Float32Array[]) {
  const group: Record<string, unknown> = {};
  buffers.forEach((b, i) => { group[String(i)] = b.buffer; });
  group[String(buffers.length)] = { uniform: new Uint32Array(fixedDispatch(k).uniforms).buffer };
  return detectRaces(k.wgsl, 'main', [...fixedDispatch(k).workgroups], { 0: group });
}

describe('row kernels have no data races (wgsl_reflect interpreter)', () => {
  it('softmax, one workgroup per strided row', () => {
    const x = new Float32Array(2 * 70).map((_, i) => (i % 5) - 2);
    const out = new Float32Array(x.length);
    const k = emitSoftmax({ name: 'softmax', dtype: 'f32', log: false, rows: 2, extent: 70, inner: 2, variant: WG, sources: { x: 0, out: 1 } });
    const r = interpret(k, [x, out]);
    expect(r).toEqual({ races: [], errors: [] });
    // Each strided row sums to one.
    for (const c of [0, 1]) expect(Array.from({ length: 70 }, (_, j) => out[j * 2 + c]!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
  it('layer_norm with weight and bias, one workgroup per row', () => {
    const x = new Float32Array(2 * 100).map((_, i) => (i * 7) % 11);
    const w = new Float32Array(100).fill(2);
    const b = new Float32Array(100).fill(1);
    const out = new Float32Array(x.length);
    const k = emitLayerNorm({ name: 'layer_norm', dtype: 'f32', rows: 2, normShape: [100], weightStrides: [1], biasStrides: [1], epsilon: 1e-5, variant: WG, sources: { x: 0, w: 1, b: 2, out: 3 } });
    expect(interpret(k, [x, w, b, out])).toEqual({ races: [], errors: [] });
    // With weight 2 and bias 1, each row has mean 1 and (biased) variance ~4.
    const row = Array.from(out.slice(0, 100));
    const mean = row.reduce((a, v) => a + v, 0) / 100;
    expect(mean).toBeCloseTo(1, 4);
    expect(row.reduce((a, v) => a + (v - mean) ** 2, 0) / 100).toBeCloseTo(4, 3);
  });
});

describe('WebGPU softmax and normalisations agree with the CPU reference', () => {
  const gpu = useGpu();

  for (const op of ['softmax', 'log_softmax']) {
    it(`${op} along the last axis, short and long rows`, async () => {
      await check(gpu(), op, [normal([7, 10])], {}, INV);
      await check(gpu(), op, [normal([3, 1000], 3)], { axis: -1 }, WG);
      await check(gpu(), op, [normal([4, 1])], {}, INV);
    });
    it(`${op} along an axis that is not the last (strided rows)`, async () => {
      await check(gpu(), op, [normal([5, 37, 3])], { axis: 1 }, INV);
      await check(gpu(), op, [normal([1000, 2])], { axis: 0 }, WG);
      await check(gpu(), op, [normal([2, 3, 4, 5])], { axis: -3 }, INV);
    });
    it(`${op} stays finite for large logits (subtracts the row max)`, async () => {
      await check(gpu(), op, [normal([6, 50], 1, 1000)], {}, INV, { atol: 2e-5, rtol: 2e-5 });
      await check(gpu(), op, [normal([1, 500], 1, -1000)], {}, WG, { atol: 2e-5, rtol: 2e-5 });
    });
  }

  describe('layer_norm', () => {
    it('over the last axis with weight and bias, both variants', async () => {
      await check(gpu(), 'layer_norm', [normal([6, 10]), normal([10]), normal([10])], {}, INV);
      await check(gpu(), 'layer_norm', [normal([2, 3, 500]), normal([500]), normal([500])], { axis: -1 }, WG);
    });
    it('over several trailing axes, with broadcast weight and bias', async () => {
      await check(gpu(), 'layer_norm', [normal([4, 3, 7]), normal([7]), normal([3, 1])], { axis: 1 }, INV);
      await check(gpu(), 'layer_norm', [normal([2, 20, 33]), normal([1]), normal([20, 33])], { axis: -2, epsilon: 1e-3 }, WG);
    });
    it('without parameters, with a weight only, and on a size-1 normalised axis', async () => {
      await check(gpu(), 'layer_norm', [normal([3, 1000])], {}, WG);
      await check(gpu(), 'layer_norm', [normal([5, 33]), normal([33])], {}, INV);
      await check(gpu(), 'layer_norm', [normal([2, 5, 1]), normal([1]), normal([1])], {}, INV);
    });
    it('is accurate for inputs far from zero mean (two-pass variance)', async () => {
      await check(gpu(), 'layer_norm', [normal([6, 300], 0.01, 1000)], {}, INV, { atol: 2e-3, rtol: 1e-3 });
      await check(gpu(), 'layer_norm', [normal([1, 3000], 0.01, 1000)], {}, WG, { atol: 2e-3, rtol: 1e-3 });
    });
  });

  it('f16: softmax, log_softmax and layer_norm compute in f32 and round once', async () => {
    // One f16 ulp: 2^-11 relative; log_softmax and layer_norm outputs reach a few units.
    const tol = { atol: 1e-3, rtol: 2e-3 };
    await check(gpu(), 'softmax', [toF16(normal([5, 40]))], {}, INV, tol);
    await check(gpu(), 'log_softmax', [toF16(normal([2, 300]))], {}, WG, tol);
    await check(gpu(), 'layer_norm', [toF16(normal([3, 500])), toF16(normal([500])), toF16(normal([500]))], {}, WG, { atol: 1e-2, rtol: 2e-3 });
  });

  describe('batch_norm (elementwise, parameters broadcast along dimension 1)', () => {
    const params = (c: number) => [normal([c]), normal([c]), normal([c]), variance(c)];
    it('rank 2 [N, C]', () => check(gpu(), 'batch_norm', [normal([5, 7]), ...params(7)], {}));
    it('rank 4 [N, C, H, W] with odd sizes, and N = C = 1', async () => {
      await check(gpu(), 'batch_norm', [normal([2, 3, 5, 7]), ...params(3)], {});
      await check(gpu(), 'batch_norm', [normal([1, 1, 3, 3]), ...params(1)], { epsilon: 0.1 });
    });
    it('rank 3 [N, C, L]', () => check(gpu(), 'batch_norm', [normal([2, 4, 9]), ...params(4)], {}));
  });
});
