import type { StaticProgram } from '../../src/runtime/program.js';
import { describe, expect, it } from 'vitest';
import { packArtifact } from '../../src/artifact-writer/pack.js';
import { compile } from '../../src/compiler.js';
import { Graph } from '../../src/ir/graph.js';
import { parseGraph } from '../../src/ir/parser.js';
import type { TensorData } from '../../src/ir/tensor-data.js';
import { numel } from '../../src/ir/types.js';
import { DEFAULT_MAX_STORAGE_BINDING_BYTES } from '../../src/passes/split-weights.js';
import { checkArtifactDevice } from '../../src/runtime/artifact-device.js';
import { loadArtifact } from '../../src/runtime/artifact.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import type { GpuDevice } from '../../src/runtime/device.js';
import { checkProgramOnDevice } from '../../src/runtime/load-checks.js';
import { Session } from '../../src/runtime/session.js';
import { expectClose } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';
import { ir } from '../passes/helpers.js';

// Weights larger than one storage binding run as several kernels on blocks of them; the GPU
// result is checked against the CPU reference of the original, unsplit graph.

/** Uniform values in [-bound, bound) from a 32-bit LCG: fast enough for 100 million of them. */
function uniform(shape: number[], bound: number, seed: number): TensorData {
  const data = new Float32Array(numel(shape));
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32 * 2 - 1) * bound;
  }
  return { dtype: 'f32', shape, data };
}

/** A fully connected layer as traced from nn.Linear: x @ transpose(W [out, in]) + b. */
function linear(g: Graph, x: Graph['inputs'][number], inF: number, outF: number, seed: number, name?: string) {
  const bound = 1 / Math.sqrt(inF);
  const w = g.addNode('const', [], { value: uniform([outF, inF], bound, seed) }, { device: 'webgpu' }).output;
  const t = g.addNode('transpose', [w], { perm: [1, 0] }, { device: 'webgpu' }).output;
  const b = g.addNode('const', [], { value: uniform([outF], bound, seed + 1) }, { device: 'webgpu' }).output;
  const y = g.addNode('matmul', [x, t], {}, { device: 'webgpu' }).output;
  return g.addNode('add', [y, b], {}, { device: 'webgpu', ...(name ? { names: [name] } : {}) }).output;
}

const MiB = 2 ** 20;
const rssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

describe('weights larger than one storage binding', () => {
  const gpu = useGpu();

  it('a VGG-sized 25088x4096 f32 fully connected layer compiles into binding-sized parts and agrees with the CPU', async () => {
    const g = new Graph('vgg_classifier');
    const x = g.addInput('x', { dtype: 'f32', shape: [2, 25088], device: 'webgpu' });
    const h = g.addNode('relu', [linear(g, x, 25088, 4096, 1)], {}, { device: 'webgpu', names: ['h'] }).output;
    const y = linear(g, h, 4096, 10, 3, 'y');
    g.setOutputs([h, y]);
    const times: Record<string, number> = {};
    let t0 = performance.now();
    const lap = (what: string) => { const t = performance.now(); times[what] = Math.round(t - t0); t0 = t; };

    const input = uniform([2, 25088], 1, 5);
    // Compiled, loaded and run in a scope of its own: the program's weights blob can be freed
    // before the CPU reference transposes the weight (host memory stays near 3 copies of it).
    const gpuRun = async () => {
      const program = compile(g);
      lap('compile');
      // The 411 MB weight is four buffers of 98 MiB, each within WebGPU's default binding limit.
      const big = program.buffers.filter((b) => b.bytes > 64 * MiB);
      expect(big.map((b) => b.bytes)).toEqual([1024, 1024, 1024, 1024].map((rows) => rows * 25088 * 4));
      expect(Math.max(...program.buffers.map((b) => b.bytes))).toBeLessThanOrEqual(DEFAULT_MAX_STORAGE_BINDING_BYTES);
      const session = await Session.create(gpu(), program);
      lap('load');
      const out = await session.run({ x: input });
      lap('run');
      session.destroy();
      return out;
    };
    const got = await gpuRun();
    const peakGpu = rssMiB();
    const want = runOnCpu(g, { x: input });
    lap('cpu');
    expectClose(got['h']! as TensorData, want['h']!, 1e-4, 1e-3);
    expectClose(got['y']! as TensorData, want['y']!, 1e-4, 1e-3);
    console.info(`25088x4096 fully connected layer: ${JSON.stringify(times)} ms, peak RSS ${peakGpu} MiB through the GPU run, ${rssMiB()} MiB with the CPU reference`);
  }, 600_000);

  // Each split form, on the GPU, at a binding limit small enough to split small weights unevenly.
  const forms: [string, string, Record<string, number[]>, number][] = [
    ['matmul on a transposed weight, over N', `
      graph g(%x: f32[3,67] @webgpu) -> (f32[3,45] @webgpu) {
        %w = const() {ref = "w"} : f32[45,67] @webgpu
        %t = transpose(%w) {perm = [1, 0]} : f32[67,45] @webgpu
        %y = matmul(%x, %t) : f32[3,45] @webgpu
        return %y
      }`, { w: [45, 67] }, 16 * 67 * 4],
    ['matmul on a weight [K, N], over K', `
      graph g(%x: f32[2,3,67] @webgpu) -> (f32[2,3,45] @webgpu) {
        %w = const() {ref = "w"} : f32[67,45] @webgpu
        %m = matmul(%x, %w) : f32[2,3,45] @webgpu
        %y = relu(%m) : f32[2,3,45] @webgpu
        return %y
      }`, { w: [67, 45] }, 20 * 45 * 4],
    ['gemm with trans_b and a bias, over N', `
      graph g(%x: f32[5,67] @webgpu) -> (f32[5,45] @webgpu) {
        %w = const() {ref = "w"} : f32[45,67] @webgpu
        %c = const() {ref = "c"} : f32[45] @webgpu
        %y = gemm(%x, %w, %c) {trans_b = true, alpha = 0.5, beta = 2} : f32[5,45] @webgpu
        return %y
      }`, { w: [45, 67], c: [45] }, 16 * 67 * 4],
    ['gemm with trans_a, over K', `
      graph g(%x: f32[67,5] @webgpu) -> (f32[5,45] @webgpu) {
        %w = const() {ref = "w"} : f32[67,45] @webgpu
        %c = const() {ref = "c"} : f32[5,45] @webgpu
        %y = gemm(%x, %w, %c) {trans_a = true, beta = 0.5} : f32[5,45] @webgpu
        return %y
      }`, { w: [67, 45], c: [5, 45] }, 30 * 45 * 4],
    ['conv2d, over output channels', `
      graph g(%x: f32[1,6,9,9] @webgpu) -> (f32[1,13,9,9] @webgpu) {
        %w = const() {ref = "w"} : f32[13,6,3,3] @webgpu
        %b = const() {ref = "b"} : f32[13] @webgpu
        %y = conv2d(%x, %w, %b) {padding = [1, 1, 1, 1]} : f32[1,13,9,9] @webgpu
        return %y
      }`, { w: [13, 6, 3, 3], b: [13] }, 5 * 6 * 9 * 4],
  ];
  it.each(forms)('%s agrees with the CPU', async (_, text, weights, limit) => {
    let seed = 11;
    const data = new Map(Object.entries(weights).map(([ref, shape]) => [ref, uniform(shape, 1, seed++)]));
    const g = parseGraph(ir(text), { weights: data });
    const program = compile(g, { maxStorageBindingBytes: limit });
    const weightBuffers = program.buffers.filter((b) => b.role === 'weight');
    expect(weightBuffers.length).toBeGreaterThan(Object.keys(weights).length);
    expect(Math.max(...weightBuffers.map((b) => b.bytes))).toBeLessThanOrEqual(limit);
    const x = uniform([...g.inputs[0]!.type.shape], 1, 99);
    const session = await Session.create(gpu(), program);
    const got = await session.run({ x });
    session.destroy();
    expectClose(got['y']! as TensorData, runOnCpu(g, { x })['y']!, 1e-5, 1e-4);
  });

  it('splits f16 weights by their f16 size', async (ctx) => {
    if (!gpu().features.has('shader-f16')) ctx.skip('the adapter lacks shader-f16');
    const [, text, weights] = forms[0]!;
    const g = parseGraph(ir(text), { weights: new Map([['w', uniform(weights['w']!, 1, 11)]]) });
    // Lowered to f16 the small weight is transposed at compile time, to [67, 45]: 23 rows of
    // 45 f16 values fit the limit, so three parts (byte sizes rounded up to 4) are summed.
    const program = compile(g, { precision: 'fp16', maxStorageBindingBytes: 16 * 67 * 2 });
    expect(program.buffers.filter((b) => b.role === 'weight').map((b) => b.bytes)).toEqual([23, 23, 21].map((rows) => Math.ceil(rows * 45 * 2 / 4) * 4));
    const x = uniform([3, 67], 1, 99);
    const session = await Session.create(gpu(), program);
    const got = await session.run({ x });
    session.destroy();
    expectClose(got['y']! as TensorData, runOnCpu(g, { x })['y']!, 2e-2, 2e-2);
  });
});

describe('an embedding table larger than one storage binding', () => {
  const gpu = useGpu();

  // As an LLM's token embedding (151936 x 896 f32 is 544 MB): here 1000 x 64 at a 64 KiB limit.
  it('gathers from binding-sized parts of it over varying token counts, as the CPU reference of the whole table', async () => {
    const text = `
      graph g(%ids: i32[1,T] @webgpu) -> (f32[1,T,64] @webgpu) sizes(T: [1, 16]) {
        %w = const() {ref = "w"} : f32[1000,64] @webgpu
        %y = gather(%w, %ids) {axis = 0} : f32[1,T,64] @webgpu
        return %y
      }`;
    const g = parseGraph(ir(text), { weights: new Map([['w', uniform([1000, 64], 1, 21)]]) });
    const program = compile(g, { maxStorageBindingBytes: 64 * 1024 });
    expect(program.buffers.filter((b) => b.role === 'weight' && b.bytes > 1024).map((b) => b.bytes)).toEqual([250, 250, 250, 250].map((rows) => rows * 64 * 4));
    const session = await Session.create(gpu(), program);
    try {
      for (const ids of [[0, 999, 250, 249, -1, 500, 751], [17]]) {
        const feed = { ids: { dtype: 'i32' as const, shape: [1, ids.length], data: Int32Array.from(ids) } };
        expectClose((await session.run(feed))['y']! as TensorData, runOnCpu(g, feed)['y']!, 0, 0);
      }
    } finally {
      session.destroy();
    }
  });
});

describe('the binding limit a program was compiled for', () => {
  const text = `
    graph g(%x: f32[2,64] @webgpu) -> (f32[2,32] @webgpu) {
      %w = const() {ref = "w"} : f32[32,64] @webgpu
      %t = transpose(%w) {perm = [1, 0]} : f32[64,32] @webgpu
      %y = matmul(%x, %t) : f32[2,32] @webgpu
      return %y
    }`;
  const graph = () => parseGraph(ir(text), { weights: new Map([['w', uniform([32, 64], 1, 1)]]) });
  const fake = (limits: Record<string, number>) =>
    ({ features: new Set<string>(), limits, describe: () => 'fake adapter' }) as unknown as GpuDevice;

  it('is what its artifact requires, and a device allowing less is told how to compile for it', async () => {
    const artifact = await loadArtifact(await packArtifact(compile(graph(), { maxStorageBindingBytes: 2048 })));
    const need = artifact.manifest.variants[0]!.requires.limits;
    expect(need['maxStorageBufferBindingSize']).toBe(2048);
    expect(() => checkArtifactDevice(artifact, fake({ ...need, maxStorageBufferBindingSize: 1024 }))).toThrow(
      /needs maxStorageBufferBindingSize >= 2048 \(largest buffer bound to one storage binding, bytes\), the device allows 1024: compile the model for this device with --max-binding-bytes 1024/);
  });

  it('is checked when a program loads, with the same advice', () => {
    const program = compile(graph());
    const limits = { maxStorageBufferBindingSize: 4096, maxBufferSize: 2 ** 30, maxComputeWorkgroupsPerDimension: 65535 };
    expect(() => checkProgramOnDevice(fake(limits), program as StaticProgram)).toThrow(
      /has 8192 bytes; this device binds at most 4096 \(maxStorageBufferBindingSize\): compile the model for this device with --max-binding-bytes 4096/);
    expect(() => checkProgramOnDevice(fake(limits), compile(graph(), { maxStorageBindingBytes: 4096 }) as StaticProgram)).not.toThrow();
  });
});
