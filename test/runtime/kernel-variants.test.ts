import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { validateProgram, type Program } from '../../src/runtime/program.js';
import { conditionHolds, describeCondition, resolveForLoad, resolveProgram, variantsAsDispatches } from '../../src/runtime/sizes.js';
import { profileProgram } from '../../src/runtime/profiler.js';
import { saveArtifact } from '../../src/artifact-writer/folder.js';
import { parseManifest } from '../../src/runtime/manifest.js';
import { InferenceSession } from '../../src/runtime/inference-session.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose } from '../helpers/compare.js';
import { tempDir } from './artifact-fixture.js';

// A dispatch may carry kernels for some sizes, picked at each run from the sizes it binds: here a
// matmul whose rows vary gets a one-row kernel for N = 1 beside its 4 x 4 blocked one.

const weights = (count: number) => `[${Array.from({ length: count }, (_, i) => (((i * 37) % 23) / 23 - 0.5).toFixed(4)).join(', ')}]`;
const TEXT = `graph g(%x: f32[N,40] @webgpu) -> (f32[N,12] @webgpu) sizes(N: [1, 64]) {
  %w = const() {value = ${weights(40 * 12)}} : f32[40,12] @webgpu
  %b = const() {value = ${weights(12)}} : f32[12] @webgpu
  %m = matmul(%x, %w) : f32[N,12] @webgpu
  %y = add(%m, %b) : f32[N,12] @webgpu
  return %y
}
`;

const inputAt = (n: number, seed: number) => {
  const rng = new Random(seed);
  return tensorData('f32', [n, 40], Array.from({ length: n * 40 }, () => rng.normal()));
};

describe('kernel variants chosen by size', () => {
  const g = parseGraph(TEXT);
  const program = compile(g);
  const variant = program.dispatches[0]!.variants?.[0];

  it('a matmul whose rows vary carries a one-row kernel for a single row', () => {
    expect(program.dispatches).toHaveLength(1);
    expect(variant?.when).toEqual({ size: 'N', max: 1 });
    expect(program.kernels[variant!.kernel]!.name).toBe('matmul_add_rows1');
    expect(program.kernels[program.dispatches[0]!.kernel]!.name).toBe('matmul_add');
    // One workgroup of 64 columns per row, against 32 x 32 blocks.
    expect(resolveProgram(program, new Map([['N', 1]])).dispatches[0]).toMatchObject({ kernel: variant!.kernel, variant: 0, workgroups: [1, 1, 1] });
    expect(resolveProgram(program, new Map([['N', 2]])).dispatches[0]).toMatchObject({ kernel: program.dispatches[0]!.kernel, workgroups: [1, 1, 1] });
    expect(resolveProgram(program, new Map([['N', 2]])).dispatches[0]!.variant).toBeUndefined();
    // A static matmul, or one whose rows never drop to 1, has none.
    expect(compile(instantiateGraph(g, { N: 1 })).dispatches[0]!.variants).toBeUndefined();
    expect(compile(parseGraph(TEXT.replace('N: [1, 64]', 'N: [2, 64]'))).dispatches[0]!.variants).toBeUndefined();
  });

  it('conditions hold within their bounds; loading sees every variant as a dispatch of its own', () => {
    const p = { ...program, sizes: [{ name: 'N', min: 1, max: 64 }, { name: 'T', min: 1, max: 9 }] };
    const at = (n: number, t: number) => new Map([['N', n], ['T', t]]);
    expect(conditionHolds(p, { size: 'N*T', min: 4, max: 8 }, at(1, 3))).toBe(false);
    expect(conditionHolds(p, { size: 'N*T', min: 4, max: 8 }, at(3, 3))).toBe(false);
    expect(conditionHolds(p, { size: 'N*T', min: 4, max: 8 }, at(2, 4))).toBe(true);
    expect(conditionHolds(p, { size: 'N*T', min: 4 }, at(9, 9))).toBe(true);
    expect(describeCondition({ size: 'N*T', min: 4, max: 8 })).toBe('4 <= N*T <= 8');
    expect(describeCondition({ size: 'N', max: 1 })).toBe('N <= 1');
    const { program: all, at: where } = variantsAsDispatches(program);
    expect(where).toEqual([[0, 1]]);
    expect(all.dispatches.map((d) => [d.kernel, d.label, d.variants])).toEqual([
      [variant!.kernel, `${program.dispatches[0]!.label} [N <= 1]`, undefined],
      [program.dispatches[0]!.kernel, program.dispatches[0]!.label, undefined],
    ]);
    // Loaded at the largest sizes, but the one-row kernel at the largest it runs at: one row of
    // workgroups, not 64 (the device limits it is checked against).
    expect(resolveForLoad(program).program.dispatches.map((d) => d.workgroups)).toEqual([[1, 1, 1], [1, 2, 1]]);
    expect(resolveProgram(all, new Map([['N', 64]])).dispatches.map((d) => d.workgroups)).toEqual([[1, 64, 1], [1, 2, 1]]);
  });

  it('a program is refused with variants but no sizes, or a variant naming no kernel', () => {
    const d = program.dispatches[0]!;
    const noSizes: Program = { ...program, sizes: undefined };
    expect(() => validateProgram(noSizes)).toThrow(/dispatch #0 .* has kernel variants chosen by size, but the program has no sizes that vary/);
    const badKernel: Program = { ...program, dispatches: [{ ...d, variants: [{ ...variant!, kernel: 9 }] }] };
    expect(() => validateProgram(badKernel)).toThrow(/variant #0 names kernel 9; the program has 2/);
  });

  const gpu = useGpu();

  it('one session gives the CPU reference\'s answer on both sides of the boundary, naming the variant it ran, creating nothing after load', async () => {
    const session = await Session.create(gpu(), program);
    const loaded = { ...session.stats };
    try {
      // Both kernels compiled at load: two pipelines and two bind groups.
      expect([loaded.pipelinesCreated, loaded.bindGroupsCreated]).toEqual([2, 2]);
      for (const [i, n] of [1, 2, 64, 1, 5].entries()) {
        const x = inputAt(n, i + 1);
        const got = await session.run({ x });
        expect(session.chosenVariants).toEqual([n === 1 ? 0 : undefined]);
        expect(got.y!.shape).toEqual([n, 12]);
        expectClose(got.y!, runOnCpu(instantiateGraph(g, { N: n }), { x }).y!, 1e-5, 1e-5);
      }
      const after = session.stats;
      expect([after.pipelinesCreated, after.shaderModulesCreated, after.bindGroupsCreated, after.buffersCreated])
        .toEqual([loaded.pipelinesCreated, loaded.shaderModulesCreated, loaded.bindGroupsCreated, loaded.buffersCreated]);
    } finally {
      session.destroy();
    }
  });

  it('ONNX Gemm over a batch that varies (transposed B, alpha, beta and a bias row) gets the same variant, and agrees on both sides', async () => {
    const gemm = parseGraph(`graph g(%x: f32[N,24] @webgpu) -> (f32[N,10] @webgpu) sizes(N: [1, 8]) {
  %w = const() {value = ${weights(10 * 24)}} : f32[10,24] @webgpu
  %c = const() {value = ${weights(10)}} : f32[10] @webgpu
  %y = gemm(%x, %w, %c) {trans_b = true, alpha = 0.5, beta = 2} : f32[N,10] @webgpu
  return %y
}
`);
    const p = compile(gemm);
    expect(p.dispatches.map((d) => d.variants?.map((v) => [v.when, p.kernels[v.kernel]!.name]))).toEqual([[[{ size: 'N', max: 1 }, 'gemm_rows1']]]);
    const session = await Session.create(gpu(), p);
    try {
      for (const n of [1, 3, 8]) {
        const rng = new Random(n);
        const x = tensorData('f32', [n, 24], Array.from({ length: n * 24 }, () => rng.normal()));
        const got = await session.run({ x });
        expect(session.chosenVariants).toEqual([n === 1 ? 0 : undefined]);
        expectClose(got.y!, runOnCpu(instantiateGraph(gemm, { N: n }), { x }).y!, 1e-5, 1e-5);
      }
    } finally {
      session.destroy();
    }
  });

  it('a pointwise conv over a batch that varies down to one carries the kernel chosen for one image, and agrees on both sides', async () => {
    // On a software adapter with subgroups, 8 images of this 1x1 layer (2^25 multiply-adds) run
    // as a matmul (pointmm), one image by output rows (rowsg).
    const conv = parseGraph(`graph g(%x: f32[N,64,32,32] @webgpu) -> (f32[N,64,32,32] @webgpu) sizes(N: [1, 8]) {
  %w = const() {value = ${weights(64 * 64)}} : f32[64,64,1,1] @webgpu
  %b = const() {value = ${weights(64)}} : f32[64] @webgpu
  %c = conv2d(%x, %w, %b) : f32[N,64,32,32] @webgpu
  %y = relu(%c) : f32[N,64,32,32] @webgpu
  return %y
}
`);
    const p = compile(conv, { adapterClass: 'software', adapterFeatures: ['subgroups'] });
    const [d] = p.dispatches;
    expect(d!.variants?.map((v) => v.when)).toEqual([{ size: 'N', max: 1 }]);
    expect(p.kernels[d!.kernel]!.wgsl).toMatch(/subgroupShuffle\(av0, kk\)/);
    expect(p.kernels[d!.variants![0]!.kernel]!.wgsl).not.toMatch(/subgroupShuffle\(av0, kk\)/);
    // Where both sizes choose alike (a static batch, or one never down to one), there is none.
    expect(compile(instantiateGraph(conv, { N: 1 }), { adapterClass: 'software', adapterFeatures: ['subgroups'] }).dispatches[0]!.variants).toBeUndefined();
    expect(compile(conv, { adapterClass: 'gpu' }).dispatches[0]!.variants).toBeUndefined();
    if (!gpu().device.features.has('subgroups')) return;
    const session = await Session.create(gpu(), p);
    try {
      for (const n of [1, 3, 1]) {
        const rng = new Random(n);
        const x = tensorData('f32', [n, 64, 32, 32], Array.from({ length: n * 64 * 1024 }, () => rng.normal()));
        const got = await session.run({ x });
        expect(session.chosenVariants).toEqual([n === 1 ? 0 : undefined]);
        expectClose(got.y!, runOnCpu(instantiateGraph(conv, { N: n }), { x }).y!, 1e-4, 1e-4);
      }
    } finally {
      session.destroy();
    }
  });

  it('kiln profile\'s timings name the variant the sizes chose', async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    const one = await profileProgram(gpu(), program, { x: inputAt(1, 7) }, 1);
    expect(one.dispatches.map((d) => [d.kernel, d.variant])).toEqual([['matmul_add_rows1', 'N <= 1']]);
    const many = await profileProgram(gpu(), program, { x: inputAt(30, 7) }, 1);
    expect(many.dispatches.map((d) => [d.kernel, d.variant])).toEqual([['matmul_add', undefined]]);
  });

  it('an artifact keeps the variants in its manifest, and runs either from it', async () => {
    const dir = join(await tempDir(), 'variants.kiln');
    await saveArtifact(dir, program);
    const manifestFile = join(dir, 'manifest.json');
    const text = await readFile(manifestFile, 'utf8');
    const stored = parseManifest(text).variants[0]!.program!;
    expect(stored.dispatches[0]!.variants).toEqual(program.dispatches[0]!.variants);
    const session = await InferenceSession.create(dir, { device: gpu() });
    try {
      for (const n of [1, 9]) {
        const x = inputAt(n, n);
        const got = await session.run({ x });
        expect([...got.y!.dims]).toEqual([n, 12]);
        expectClose(tensorData('f32', [n, 12], Array.from(got.y!.data as Float32Array)), runOnCpu(instantiateGraph(g, { N: n }), { x }).y!, 1e-5, 1e-5);
      }
    } finally {
      await session.release();
    }
    // A variant without its condition is refused when the manifest is read.
    const broken = text.replace('"when":', '"whence":');
    expect(broken).not.toBe(text);
    expect(() => parseManifest(broken)).toThrow(/variants\[0\]\.when/);
    await writeFile(manifestFile, text);
  });
});
