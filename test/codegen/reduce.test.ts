import { describe, expect, it } from 'vitest';
import { fixedDispatch } from '../../src/codegen/kernels/kernel.js';
import { analyzePerformance, detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { Graph } from '../../src/ir/graph.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';
import type { Attrs } from '../../src/ir/attrs.js';
import { getOp } from '../../src/ir/ops/index.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import type { DType, Shape } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import { chooseReduceVariant, emitReduce, REDUCE_WG, type ReduceKernelSpec, type ReduceVariant } from '../../src/codegen/kernels/reduce.js';
import type { EmittedKernel } from '../../src/codegen/kernels/kernel.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

type Tol = { atol: number; rtol: number };
const EXACT: Tol = { atol: 0, rtol: 0 };

const WG: ReduceVariant = 'workgroup';
const INV: ReduceVariant = 'invocation';

/**
 * A one-node graph on `x`, run on the device and on the CPU reference, compared; `variant`
 * is the kernel shape the sizes are meant to select, checked so each case tests what it says.
 */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, op: string, x: TensorData, attrs: Attrs, variant: ReduceVariant, tol: Tol = { atol: 1e-5, rtol: 1e-5 }) {
  const g = new Graph(op);
  const input = g.addInput('x', { dtype: x.dtype, shape: x.shape, device: 'webgpu' });
  g.setOutputs([g.addNode(op, [input], attrs).output]);
  expectRoundTrip(g);
  expect(compile(g).kernels[0]!.wgsl.includes('workgroupBarrier'), `${op} on [${x.shape.join(',')}] uses the ${variant} variant`).toBe(variant === WG);
  const { gpu, cpu } = await runBoth(device, g, { x });
  const name = g.outputs[0]!.name;
  expectClose(asF32(gpu[name]!), asF32(cpu[name]!), tol.atol, tol.rtol);
}

/** f16 tensors decoded to f32 for comparison (their data are raw bits). */
const asF32 = (t: TensorData): TensorData => (t.dtype === 'f16' ? tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array)) : t);
/** Normal f16 values. */
const randF16 = (shape: Shape) => tensorData('f16', shape, toF16Array(rand('f32', shape).data as Float32Array));

const rand = (dtype: DType, shape: Shape, seed = shape.reduce((a, b) => a * 31 + b, 7)) => randomData(dtype, shape, new Random(seed));
/** Integers around 2^30: their max, min and sums are wrong if the kernel goes through f32. */
const bigInts = (shape: Shape) => {
  const rng = new Random(11);
  return tensorData('i32', shape, Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => 2 ** 30 + Math.floor(rng.uniform(-1000, 1000))));
};
/** Floats with many exact ties (one decimal), to pin down first-index tie breaking. */
const tiedFloats = (shape: Shape) => {
  const rng = new Random(5);
  return tensorData('f32', shape, Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => Math.round(rng.uniform(-2, 2))));
};

describe('reduction kernel variants', () => {
  it('one workgroup per output when the reduced count is large relative to the outputs', () => {
    expect(chooseReduceVariant(1, 1_000_000)).toBe('workgroup');
    expect(chooseReduceVariant(3, 3 * REDUCE_WG)).toBe('workgroup');
    expect(chooseReduceVariant(100, 10_000)).toBe('workgroup');
    expect(chooseReduceVariant(1, REDUCE_WG - 1)).toBe('invocation');
    expect(chooseReduceVariant(1000, 1000)).toBe('invocation');
    expect(chooseReduceVariant(100_000, 300)).toBe('invocation');
  });

  it('the sum of a million elements dispatches one workgroup, not one looping invocation', () => {
    const g = new Graph('sum_all');
    const x = g.addInput('x', { dtype: 'f32', shape: [1000, 1000], device: 'webgpu' });
    g.setOutputs([g.addNode('sum', [x]).output]);
    const p = compile(g);
    expect(p.dispatches).toHaveLength(1);
    expect(p.dispatches[0]!.workgroups).toEqual([1, 1, 1]);
    expect(p.kernels[0]!.wgsl).toMatch(new RegExp(`@workgroup_size\\(${REDUCE_WG}\\)`));
  });

  const sumSpec = (variant: 'workgroup' | 'invocation'): ReduceKernelSpec => ({
    name: 'sum', dtype: 'f32', math: getOp('sum').spec.reduce!, variant, sources: { x: 0, out: 1 },
    keptShape: [3], keptStrides: [1], reducedShape: [300], reducedStrides: [3],
  });
  /** Interprets a kernel over host buffers (wgsl_reflect), reporting races between lanes. */
  const interpret = (k: EmittedKernel, x: Float32Array, outLength: number, OutArray: typeof Float32Array | typeof Int32Array = Float32Array) => {
    const out = new OutArray(outLength);
    const r = detectRaces(k.wgsl, 'main', [...fixedDispatch(k).workgroups], { 0: { 0: x.buffer, 1: out.buffer, 2: { uniform: new Uint32Array(fixedDispatch(k).uniforms).buffer } } });
    return { out: Array.from(out), races: r.races.map((x) => x.message), errors: r.errors };
  };

  it('the workgroup tree has no data races and computes the sum (wgsl_reflect interpreter)', () => {
    const x = new Float32Array(900).map((_, i) => i % 7);
    const want = [0, 1, 2].map((c) => Array.from({ length: 300 }, (_, r) => x[r * 3 + c]!).reduce((a, b) => a + b, 0));
    const k = emitReduce(sumSpec('workgroup'));
    expect(interpret(k, x, 3)).toEqual({ out: want, races: [], errors: [] });
  });

  it('the race check can fail: dropping the tree barriers is reported', () => {
    const k = emitReduce(sumSpec('workgroup'));
    const broken = { ...k, wgsl: k.wgsl.replace(/ {2}workgroupBarrier\(\);\n(?= {2}if \(lid < (64|32)u\))/g, '') };
    expect(broken.wgsl).not.toBe(k.wgsl);
    expect(interpret(broken, new Float32Array(900).fill(1), 3).races.length).toBeGreaterThan(0);
  });

  it('the argmax tree keeps the first index among lanes holding equal values', () => {
    // The max 5 sits at positions 7, 200 and 263, held by different lanes; 7 must win.
    const x = new Float32Array(300).fill(1);
    for (const i of [263, 200, 7]) x[i] = 5;
    const k = emitReduce({ name: 'argmax', dtype: 'f32', sources: { x: 0, out: 1 }, arg: 'max', variant: 'workgroup', keptShape: [], keptStrides: [], reducedShape: [300], reducedStrides: [1] });
    expect(interpret(k, x, 1, Int32Array)).toEqual({ out: [7], races: [], errors: [] });
  });

  it('static performance lints find nothing above low severity', () => {
    const kernels = [
      emitReduce(sumSpec('workgroup')), emitReduce(sumSpec('invocation')),
      emitReduce({ name: 'argmax', dtype: 'i32', sources: { x: 0, out: 1 }, arg: 'max', variant: 'workgroup', keptShape: [2], keptStrides: [300], reducedShape: [300], reducedStrides: [1] }),
    ];
    for (const k of kernels) {
      const bad = analyzePerformance(k.wgsl).findings.filter((f) => f.severity === 'medium' || f.severity === 'high');
      expect(bad.map((f) => `${f.rule}: ${f.message}`)).toEqual([]);
    }
  });
});

describe('WebGPU reductions agree with the CPU reference', () => {
  const gpu = useGpu();

  for (const op of ['max', 'min']) {
    it(`${op} (f32) over last, first, middle and all axes, both kernel variants`, async () => {
      await check(gpu(), op, rand('f32', [7, 129]), { axes: [-1] }, INV);
      await check(gpu(), op, rand('f32', [300, 3]), { axes: [0] }, WG);
      await check(gpu(), op, rand('f32', [3, 4, 5, 6]), { axes: [1, 2], keepdims: true }, INV);
      await check(gpu(), op, rand('f32', [11, 13]), {}, WG);
      await check(gpu(), op, rand('f32', [1, 1001, 1]), { axes: [1], keepdims: true }, WG);
    });
    it(`${op} (i32) exactly, beyond f32 precision, both variants`, async () => {
      await check(gpu(), op, bigInts([5, 37]), { axes: [1] }, INV, EXACT);
      await check(gpu(), op, bigInts([2, 700]), { axes: [1] }, WG, EXACT);
      await check(gpu(), op, rand('u32', [3, 300]), { axes: [-1] }, WG, EXACT);
    });
  }

  for (const op of ['sum', 'mean']) {
    const tol = { atol: 1e-4, rtol: 1e-5 };
    it(`${op} through the workgroup variant: long rows, strided columns, non-adjacent axes`, async () => {
      await check(gpu(), op, rand('f32', [5, 1000]), { axes: [1] }, WG, tol);
      await check(gpu(), op, rand('f32', [513, 3]), { axes: [0], keepdims: true }, WG, tol);
      await check(gpu(), op, rand('f32', [300, 2, 3]), { axes: [0, 2] }, WG, tol);
      await check(gpu(), op, rand('f32', [2, 300, 2]), { axes: [0, 2] }, INV, tol);
    });
    it(`${op} (i32) accumulates exactly in i32`, async () => {
      await check(gpu(), op, tensorData('i32', [3, 400], Array.from({ length: 1200 }, (_, i) => 100_000 + i)), { axes: [1] }, WG, EXACT);
      await check(gpu(), op, rand('i32', [9, 33]), { axes: [0] }, INV, EXACT);
    });
  }

  it('sum and mean of a million elements (one workgroup)', async () => {
    await check(gpu(), 'sum', rand('f32', [1_000_003], 1), {}, WG, { atol: 5e-2, rtol: 1e-4 });
    await check(gpu(), 'mean', rand('f32', [1000, 1001], 2), { axes: [0, 1] }, WG, { atol: 1e-6, rtol: 1e-4 });
  });

  it('f16 inputs accumulate in f32 and round once (sum, max, argmax; both variants)', async () => {
    // One f16 ulp of results up to ~30 in magnitude is 2^-6; the CPU sums the same f16 values in double.
    const tol = { atol: 2e-2, rtol: 1e-3 };
    await check(gpu(), 'sum', randF16([5, 400]), { axes: [1] }, WG, tol);
    await check(gpu(), 'mean', randF16([33, 17]), { axes: [0] }, INV, tol);
    await check(gpu(), 'max', randF16([3, 300]), { axes: [1] }, WG, EXACT);
    await check(gpu(), 'argmax', randF16([7, 20]), { axis: 1 }, INV, EXACT);
  });

  for (const op of ['argmax', 'argmin']) {
    it(`${op} on f32 along the last, first and a middle axis, keepdims`, async () => {
      await check(gpu(), op, rand('f32', [3, 300]), { axis: -1 }, WG, EXACT);
      await check(gpu(), op, rand('f32', [6, 300]), { axis: -1 }, INV, EXACT);
      await check(gpu(), op, rand('f32', [300, 4]), { axis: 0 }, WG, EXACT);
      await check(gpu(), op, rand('f32', [4, 7, 5]), { axis: 1, keepdims: true }, INV, EXACT);
      await check(gpu(), op, rand('f32', [1, 1]), { axis: 0 }, INV, EXACT);
    });
    it(`${op} breaks ties at the first index, in both variants`, async () => {
      await check(gpu(), op, rand('i32', [3, 1000]), { axis: 1 }, WG, EXACT);
      await check(gpu(), op, rand('i32', [50, 9]), { axis: -1 }, INV, EXACT);
      await check(gpu(), op, tiedFloats([700, 4]), { axis: 0 }, WG, EXACT);
      await check(gpu(), op, tiedFloats([4, 70]), { axis: 1 }, INV, EXACT);
    });
  }
});
