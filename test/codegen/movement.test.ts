import { describe, expect, it } from 'vitest';
import { analyzePerformance } from 'wgsl_reflect/wgsl_reflect.module.js';
import { Graph } from '../../src/ir/graph.js';
import type { Attrs } from '../../src/ir/attrs.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { toF16Array } from '../../src/ir/f16.js';
import { numel, type DType, type Shape } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import { coalesceCopy } from '../../src/codegen/kernels/copy.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

const INT64_MAX = 9223372036854775807;

/** Random data of any dtype: f16 from normals, bool as a fair coin, the rest as randomData. */
function rand(dtype: DType, shape: Shape, seed = shape.reduce((a, b) => a * 31 + b, 7)): TensorData {
  const rng = new Random(seed);
  const n = numel(shape);
  if (dtype === 'f16') return tensorData('f16', shape, toF16Array(Array.from({ length: n }, () => rng.normal())));
  if (dtype === 'bool') return tensorData('bool', shape, Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0)));
  return randomData(dtype, shape, rng);
}

/** Valid i32 indices for an axis of `extent`, negative ones included. */
function indices(shape: Shape, extent: number, seed = 3): TensorData {
  const rng = new Random(seed);
  return tensorData('i32', shape, Array.from({ length: numel(shape) }, () => Math.floor(rng.uniform(-extent, extent))));
}

/** One node over the given inputs, run on the device and the CPU reference; every output must match exactly. */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, op: string, inputs: TensorData[], attrs: Attrs = {}) {
  const g = new Graph(op);
  const vs = inputs.map((x, i) => g.addInput(`x${i}`, { dtype: x.dtype, shape: x.shape, device: 'webgpu' }));
  const node = g.addNode(op, vs, attrs);
  g.setOutputs(node.outputs);
  expectRoundTrip(g);
  const { gpu, cpu } = await runBoth(device, g, Object.fromEntries(inputs.map((x, i) => [`x${i}`, x])));
  for (const v of node.outputs) expectClose(gpu[v.name]!, cpu[v.name]!, 0, 0);
  return compile(g);
}

describe('strided copies coalesce', () => {
  it('merges dims contiguous on both sides and drops size-1 dims', () => {
    // A concat input [2,3,4,5] into a [2,7,4,5] output along axis 1: two dims remain.
    expect(coalesceCopy([2, 3, 4, 5], [60, 20, 5, 1], [140, 20, 5, 1])).toEqual({ shape: [2, 60], src: [60, 1], dst: [140, 1] });
    expect(coalesceCopy([1, 6, 1], [6, 1, 1], [6, 1, 1])).toEqual({ shape: [6], src: [1], dst: [1] });
    expect(coalesceCopy([1, 1], [1, 1], [1, 1])).toEqual({ shape: [1], src: [0], dst: [0] });
    // A transposed read does not merge.
    expect(coalesceCopy([3, 4], [1, 3], [4, 1]).shape).toEqual([3, 4]);
  });
});

describe('WebGPU movement kernels agree with the CPU reference', () => {
  const gpu = useGpu();

  it('flatten, squeeze and unsqueeze alias their input: no dispatch at all', async () => {
    const g = new Graph('reshapes');
    const x = g.addInput('x', { dtype: 'f32', shape: [3, 1, 5, 7], device: 'webgpu' });
    const f = g.addNode('flatten', [x], { axis: 2 }).output;
    const s = g.addNode('squeeze', [x]).output;
    const u = g.addNode('unsqueeze', [s], { axes: [0, -1] }).output;
    g.setOutputs([f, u]);
    expectRoundTrip(g);
    expect(compile(g).dispatches).toHaveLength(0);
    const feeds = { x: rand('f32', [3, 1, 5, 7]) };
    const { gpu: got, cpu } = await runBoth(gpu(), g, feeds);
    expect(got[u.name]!.shape).toEqual([1, 3, 5, 7, 1]);
    for (const v of g.outputs) expectClose(got[v.name]!, cpu[v.name]!, 0, 0);
  });

  it('expand: broadcast rows, columns, new leading dims, every dtype', async () => {
    await check(gpu(), 'expand', [rand('f32', [3, 1, 5])], { shape: [2, 3, 4, 5] });
    await check(gpu(), 'expand', [rand('f32', [7])], { shape: [13, 1] });
    await check(gpu(), 'expand', [rand('f32', [2, 3])], { shape: [1] });
    await check(gpu(), 'expand', [rand('i32', [1, 257])], { shape: [3, 257] });
    await check(gpu(), 'expand', [rand('bool', [33, 1])], { shape: [33, 5] });
    await check(gpu(), 'expand', [rand('f16', [1, 9])], { shape: [5, 9] });
  });

  it('channel_shuffle on NCHW and on [N, C, L]', async () => {
    await check(gpu(), 'channel_shuffle', [rand('f32', [2, 12, 5, 7])], { groups: 3 });
    await check(gpu(), 'channel_shuffle', [rand('i32', [1, 6, 9])], { groups: 2 });
  });

  it('concat: one dispatch for all inputs', async () => {
    const p = await check(gpu(), 'concat', [rand('f32', [2, 3, 5]), rand('f32', [2, 1, 5], 1), rand('f32', [2, 7, 5], 2)], { axis: 1 });
    expect(p.dispatches).toHaveLength(1);
    expect(p.kernels).toHaveLength(1);
    await check(gpu(), 'concat', [rand('f32', [3, 4]), rand('f32', [3, 0]), rand('f32', [3, 1], 1)], { axis: -1 });
    await check(gpu(), 'concat', [rand('i32', [1, 257]), rand('i32', [4, 257], 5)], { axis: 0 });
    await check(gpu(), 'concat', [rand('bool', [2, 3]), rand('bool', [2, 3], 9)], { axis: 1 });
    await check(gpu(), 'concat', [rand('f16', [3, 5]), rand('f16', [3, 2])], { axis: 1 });
    await check(gpu(), 'concat', [rand('f32', [1])]);
  });

  it('concat of dense parts whose slabs are multiples of 4 copies vec4s (and falls back when one is not)', async () => {
    const vec4 = (p: { kernels: readonly { wgsl: string }[] }) => /dst: array<vec4</.test(p.kernels[0]!.wgsl);
    // Slabs of 8, 4 and 12 elements in each of 3 outer rows.
    expect(vec4(await check(gpu(), 'concat', [rand('f32', [3, 2, 4]), rand('f32', [3, 1, 4], 1), rand('f32', [3, 3, 4], 2)], { axis: 1 }))).toBe(true);
    expect(vec4(await check(gpu(), 'concat', [rand('i32', [2, 3, 4]), rand('i32', [5, 3, 4], 3)], { axis: 0 }))).toBe(true);
    expect(vec4(await check(gpu(), 'concat', [rand('f16', [2, 8]), rand('f16', [2, 4], 4)], { axis: 1 }))).toBe(true);
    expect(vec4(await check(gpu(), 'concat', [rand('bool', [4, 4]), rand('bool', [4, 8], 5)], { axis: -1 }))).toBe(true);
    // Slabs of 4 and 2: one element an invocation.
    expect(vec4(await check(gpu(), 'concat', [rand('f32', [2, 2, 4]), rand('f32', [2, 2, 2], 6)], { axis: 2 }))).toBe(false);
  });

  it('concat by loops (software adapters): a workgroup copies a chunk of an output row, each part a loop; the flat kernel where a GPU is the target', async () => {
    const loops = (p: { kernels: readonly { wgsl: string }[] }) => /workgroup_size\(8\)[^]*for \(var r/.test(p.kernels[0]!.wgsl);
    // Rows of 320 elements (80 loads of 4) in 2 outer rows; rows of 1300 single elements in 3
    // chunks of 512, the part boundary (700) inside the second; f16 and i32 rows.
    expect(loops(await check(gpu(), 'concat', [rand('f32', [2, 3, 40]), rand('f32', [2, 5, 40], 1)], { axis: 1 }))).toBe(true);
    expect(loops(await check(gpu(), 'concat', [rand('f32', [3, 700]), rand('f32', [3, 600], 2)], { axis: 1 }))).toBe(true);
    expect(loops(await check(gpu(), 'concat', [rand('f16', [2, 33, 3]), rand('f16', [2, 1, 3], 3), rand('f16', [2, 30, 3], 4)], { axis: 1 }))).toBe(true);
    expect(loops(await check(gpu(), 'concat', [rand('i32', [1, 257]), rand('i32', [4, 257], 5)], { axis: 0 }))).toBe(true);
    // Rows shorter than 64 elements keep the flat kernel, as does a GPU target.
    expect(loops(await check(gpu(), 'concat', [rand('f32', [9, 20]), rand('f32', [9, 20], 6)], { axis: 1 }))).toBe(false);
    const g = new Graph('concat');
    const [a, b] = [[2, 3, 40], [2, 5, 40]].map((shape, k) => g.addInput(`x${k}`, { dtype: 'f32', shape, device: 'webgpu' }));
    g.setOutputs([g.addNode('concat', [a!, b!], { axis: 1 }).output]);
    expect(loops(compile(g, { adapterClass: 'gpu' }))).toBe(false);
  });

  it('split: one dispatch per non-empty output', async () => {
    const p = await check(gpu(), 'split', [rand('f32', [5, 13])], { axis: 1, sizes: [4, 0, 9] });
    expect(p.dispatches).toHaveLength(2);
    await check(gpu(), 'split', [rand('i32', [5, 2, 3])], { sizes: [2, 3] });
    await check(gpu(), 'split', [rand('f16', [3, 7, 2])], { axis: -2, sizes: [1, 1, 5] });
  });

  it('slice: offsets, steps, negative steps and clamped ends', async () => {
    await check(gpu(), 'slice', [rand('f32', [9, 17])], { starts: [1, -5], ends: [8, INT64_MAX], steps: [2, 1] });
    await check(gpu(), 'slice', [rand('f32', [9, 17])], { starts: [-1, 15], ends: [-INT64_MAX, 0], steps: [-1, -3] });
    await check(gpu(), 'slice', [rand('i32', [4, 5, 6])], { starts: [1], ends: [4], axes: [2] });
    await check(gpu(), 'slice', [rand('bool', [6, 1, 3])], { starts: [5, 0], ends: [0, 1], axes: [0, 1], steps: [-2, 1] });
    await check(gpu(), 'slice', [rand('f16', [301, 257])], { starts: [3, 7], ends: [300, 250], steps: [3, 2] });
  });

  it('pad: constant (with crop), reflect, edge and wrap, every dtype', async () => {
    await check(gpu(), 'pad', [rand('f32', [3, 5, 7])], { pads: [0, 1, 2, 1, 0, 3], value: 1.5 });
    await check(gpu(), 'pad', [rand('f32', [2, 3, 9, 11])], { pads: [0, 0, 2, 3, 0, 0, 4, 1], mode: 'reflect' });
    await check(gpu(), 'pad', [rand('f32', [2, 3])], { pads: [0, 7, 0, 5], mode: 'reflect' });
    await check(gpu(), 'pad', [rand('f32', [1, 4, 6])], { pads: [0, 3, 2, 0, 1, 9], mode: 'edge' });
    await check(gpu(), 'pad', [rand('f32', [2, 3, 5])], { pads: [0, 7, 2, 1, -1, 3], mode: 'wrap' });
    await check(gpu(), 'pad', [rand('i32', [4, 3])], { pads: [-2, 4, 3, 0], mode: 'wrap' });
    await check(gpu(), 'pad', [rand('f32', [5, 6])], { pads: [-1, 2, 1, -3], value: -2 });
    await check(gpu(), 'pad', [rand('i32', [4, 4])], { pads: [1, 1, 1, 1], value: -7.9 });
    await check(gpu(), 'pad', [rand('bool', [3, 2])], { pads: [2, 0, 0, 1], value: 1 });
    await check(gpu(), 'pad', [rand('f16', [3, 5])], { pads: [1, 2, 3, 4], value: 0.25 });
    await check(gpu(), 'pad', [rand('f16', [3, 5])], { pads: [1, 2, 3, 4], mode: 'reflect' });
  });

  it('gather: every axis, negative indices, scalar and 2-D indices', async () => {
    await check(gpu(), 'gather', [rand('f32', [7, 9, 5]), indices([3, 4], 9)], { axis: 1 });
    await check(gpu(), 'gather', [rand('f32', [1000, 3]), indices([37], 1000)]);
    await check(gpu(), 'gather', [rand('i32', [4, 6]), indices([], 6)], { axis: -1 });
    await check(gpu(), 'gather', [rand('f16', [5, 3]), indices([2, 2], 5)]);
    await check(gpu(), 'gather', [rand('bool', [8, 2]), indices([3], 8)]);
  });

  it('embedding: rows of a weight table', async () => {
    await check(gpu(), 'embedding', [rand('f32', [50, 17]), indices([4, 13], 50)]);
  });

  it('concat, split and slice in one graph: split and slice share one copy shader (all coalesce to rank 2)', async () => {
    const g = new Graph('copies');
    const x = g.addInput('x', { dtype: 'f32', shape: [2, 3, 5, 7], device: 'webgpu' });
    const y = g.addInput('y', { dtype: 'f32', shape: [2, 4, 5, 7], device: 'webgpu' });
    const c = g.addNode('concat', [x, y], { axis: 1 }).output;
    const [a, b] = g.addNode('split', [c], { axis: 1, sizes: [5, 2] }).outputs;
    const s = g.addNode('slice', [a!], { starts: [0, -1], ends: [INT64_MAX, -INT64_MAX], axes: [2, 3], steps: [1, -1] }).output;
    g.setOutputs([s, b!]);
    expectRoundTrip(g);
    const p = compile(g, { pipeline: 'O0' });
    expect(p.dispatches).toHaveLength(4); // concat 1, split 2, slice 1
    expect(p.kernels).toHaveLength(2); // the concat kernel and the shared copy kernel
    const { gpu: got, cpu } = await runBoth(gpu(), g, { x: rand('f32', [2, 3, 5, 7]), y: rand('f32', [2, 4, 5, 7]) });
    for (const v of g.outputs) expectClose(got[v.name]!, cpu[v.name]!, 0, 0);
  });

  it('generated shaders pass the static performance lints', () => {
    const g = new Graph('lint');
    const x = g.addInput('x', { dtype: 'f16', shape: [4, 6], device: 'webgpu' });
    const y = g.addInput('y', { dtype: 'f32', shape: [4, 6], device: 'webgpu' });
    const i = g.addInput('i', { dtype: 'i32', shape: [3], device: 'webgpu' });
    g.setOutputs([
      g.addNode('pad', [x], { pads: [1, 1, 1, 1], value: 2 }).output,
      g.addNode('pad', [y], { pads: [1, 1, 1, 1], mode: 'reflect' }).output,
      g.addNode('slice', [y], { starts: [3], ends: [0], steps: [-1] }).output,
      g.addNode('gather', [y, i]).output,
    ]);
    expectRoundTrip(g);
    for (const k of compile(g).kernels) {
      const bad = analyzePerformance(k.wgsl).findings.filter((f) => f.severity === 'medium' || f.severity === 'high');
      expect(bad.map((f) => `${k.name}: ${f.rule}: ${f.message}`)).toEqual([]);
    }
  });
});
