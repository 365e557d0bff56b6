import { createServer, type Server } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { compile } from '../../src/compiler.js';
import { trace } from '../../src/frontend/trace/trace.js';
import { f16BitsToF32, toF16Array } from '../../src/ir/f16.js';
import type { Graph } from '../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { chooseVariant, type DeviceOffer } from '../../src/runtime/artifact-device.js';
import { loadArtifact } from '../../src/runtime/artifact.js';
import { packArtifact } from '../../src/artifact-writer/pack.js';
import { artifactSourceReader } from '../../src/runtime/artifact-read.js';
import { saveArtifact } from '../../src/artifact-writer/folder.js';
import { acquireDevice, type AcquireDeviceOptions, type GpuDevice } from '../../src/runtime/device.js';
import { InferenceSession } from '../../src/runtime/inference-session.js';
import { parseManifest } from '../../src/runtime/manifest.js';
import { exampleInputs as mlpInputs, model as mlp } from '../../examples/mlp/model.js';
import { hasGpu } from '../helpers/gpu.js';
import { editManifest, tempDir, tinyGraph, tinyInputs } from './artifact-fixture.js';

// An fp16 artifact carries an f32 fallback: the manifest lists both variants in order of
// preference, and a session loads the first its device can run, reading only that variant's files.

/** The graph compiled as an f16 variant and its f32 fallback, packed as one artifact. */
function variantsOf(graph: Graph, io: 'f32' | 'f16' = 'f32') {
  return [
    { program: compile(graph, { precision: 'fp16', ioPrecision: io }), precision: 'fp16' as const },
    { program: compile(graph, { precision: 'fp32' }), precision: 'fp32' as const },
  ];
}

const fakeDevice = (features: string[], limits: Record<string, number> = {}): DeviceOffer =>
  ({ features: new Set(features), limits, describe: () => `fake adapter [${features.join(', ')}]` });

const values = (t: TensorData): number[] => (t.dtype === 'f16' ? Array.from(t.data, f16BitsToF32) : Array.from(t.data));

/** max |a - b| over max |b|: the error relative to the output's scale. */
function relativeError(a: TensorData, b: TensorData): number {
  const x = values(a);
  const y = values(b);
  expect(x.length).toBe(y.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

describe('artifacts with an f32 fallback (no GPU)', () => {
  it('packs the f16 program first and its f32 fallback in fp32/, each with its own files and needs', async () => {
    const packed = await packArtifact(variantsOf(tinyGraph()), { compiler: { pipeline: 'O2' } });
    const m = packed.manifest;
    expect(m.formatVersion).toBe(3);
    expect(m.variants.map((v) => v.precision)).toEqual(['fp16', 'fp32']);
    expect(m.variants[0]!.requires.features).toEqual(['shader-f16']);
    expect(m.variants[1]!.requires.features).toEqual([]);
    // The user's interface is f32 (default I/O precision), whichever variant runs.
    expect(m.inputs).toEqual([{ name: 'x', dtype: 'f32', shape: [3, 37] }]);
    expect(m.outputs.map((t) => t.dtype)).toEqual(['f32', 'f32']);
    expect(m.variants[0]!.weights!.file).toBe('weights.bin');
    expect(m.variants[1]!.weights!.file).toBe('fp32/weights.bin');
    expect(Object.keys(packed.weights).sort()).toEqual(['fp32/weights.bin', 'weights.bin']);
    expect(m.variants[0]!.program!.kernels.every((k) => /^kernels\//.test(k.file))).toBe(true);
    expect(m.variants[1]!.program!.kernels.every((k) => /^fp32\/kernels\//.test(k.file))).toBe(true);
    // f16 weights take half the bytes of f32 ones: 37*5 and 5 values, each tensor 16-byte aligned.
    expect(packed.weights['fp32/weights.bin']!.byteLength).toBe(752 + 32);
    expect(packed.weights['weights.bin']!.byteLength).toBe(384 + 16);
    const f16Kernels = m.variants[0]!.program!.kernels.map((k) => packed.kernels[k.file]!);
    expect(f16Kernels.some((w) => /^\s*enable f16;/m.test(w))).toBe(true);

    const loaded = await loadArtifact(packed);
    expect(loaded.variants.map((v) => [v.index, v.precision])).toEqual([[0, 'fp16'], [1, 'fp32']]);
  });

  it('chooses the first variant the device can run, or says what each lacks', async () => {
    const { manifest } = await packArtifact(variantsOf(tinyGraph()));
    // Limits both variants fit in; the choice turns on shader-f16 alone.
    const limits: Record<string, number> = {};
    for (const v of manifest.variants) for (const [k, n] of Object.entries(v.requires.limits)) limits[k] = Math.max(limits[k] ?? 0, n);
    expect(chooseVariant(manifest, fakeDevice(['shader-f16'], limits))).toBe(0);
    expect(chooseVariant(manifest, fakeDevice([], limits))).toBe(1);
    expect(chooseVariant(manifest, fakeDevice(['shader-f16'], limits), { precision: 'fp32' })).toBe(1);
    expect(() => chooseVariant(manifest, fakeDevice([], limits), { precision: 'fp16' }))
      .toThrow(/cannot run on this device \(fake adapter \[\]\): its fp16 variant needs WebGPU feature\(s\) shader-f16$/);
    const tiny = { ...limits, maxStorageBuffersPerShaderStage: 1 };
    expect(() => chooseVariant(manifest, fakeDevice([], tiny)))
      .toThrow(/its fp16 variant needs WebGPU feature\(s\) shader-f16 and needs maxStorageBuffersPerShaderStage >= \d+ .*; its fp32 variant needs maxStorageBuffersPerShaderStage >= \d+/);
    const single = (await packArtifact(compile(tinyGraph()))).manifest;
    expect(() => chooseVariant(single, fakeDevice([]), { precision: 'fp16' })).toThrow(/artifact 'tiny' has no fp16 variant \(it has fp32\)/);
  });

  it('reads only the chosen variant\'s files', async () => {
    const packed = await packArtifact(variantsOf(tinyGraph()));
    const all: Record<string, Uint8Array> = {
      'manifest.json': new TextEncoder().encode(JSON.stringify(packed.manifest)),
      ...packed.weights,
      ...Object.fromEntries(Object.entries(packed.kernels).map(([f, t]) => [f, new TextEncoder().encode(t)])),
    };
    const read: string[] = [];
    const reader = artifactSourceReader(async (path) => {
      read.push(path);
      const b = all[path];
      if (!b) throw new Error('ENOENT');
      return b;
    }, 'memory');
    const manifest = await reader.manifest();
    const files = await reader.files(manifest, [1]);
    expect(read[0]).toBe('manifest.json');
    expect(read.slice(1).every((f) => f.startsWith('fp32/'))).toBe(true);
    expect(read).toContain('fp32/weights.bin');
    const { variants } = await loadArtifact(files, { variants: [1] });
    expect(variants.map((v) => v.precision)).toEqual(['fp32']);
    // The f16 variant's files were not given: validating it says which file is missing.
    await expect(loadArtifact(files, { variants: [0] })).rejects.toThrow(/artifact 'tiny' \(fp16 variant\): its weights file weights\.bin is missing/);
  });

  it('refuses a damaged fallback, naming the variant', async () => {
    const dir = await tempDir();
    await saveArtifact(dir, variantsOf(tinyGraph()));
    const w = await readFile(join(dir, 'fp32', 'weights.bin'));
    w[5] ^= 0x10;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'fp32', 'weights.bin'), w);
    const { loadArtifactDir } = await import('../../src/runtime/artifact-node.js');
    await expect(loadArtifactDir(dir)).rejects.toThrow(/artifact 'tiny' \(fp32 variant\): fp32\/weights\.bin is corrupted/);
    // The preferred variant alone still loads.
    expect((await loadArtifactDir(dir, { variants: [0] })).variants[0]!.precision).toBe('fp16');
    await editManifest(dir, (m) => { m.variants[1].precision = 'fp16'; });
    await expect(loadArtifactDir(dir)).rejects.toThrow(/variants\[1\] \(fp16\): a second variant of precision fp16/);
  });

  it('reads a version-1 artifact (one program, no variants) as one variant', async () => {
    const program = compile(tinyGraph());
    const packed = await packArtifact(program);
    const v = packed.manifest.variants[0]!;
    const v1 = { format: 'kiln-artifact', formatVersion: 1, model: 'tiny', compiler: packed.manifest.compiler, requires: v.requires, weights: v.weights, program: v.program };
    const m = parseManifest(JSON.stringify(v1));
    expect(m.formatVersion).toBe(1);
    expect(m.variants.length).toBe(1);
    expect(m.variants[0]!.precision).toBe('fp32');
    expect(m.inputs).toEqual(packed.manifest.inputs);
    const loaded = await loadArtifact({ manifest: JSON.stringify(v1), kernels: packed.kernels, weights: packed.weights['weights.bin']! });
    expect(Array.from(loaded.variants[0]!.program!.weights)).toEqual(Array.from(program.weights));
    // A version-1 manifest that needs shader-f16 computes in f16.
    expect(parseManifest({ ...v1, requires: { ...v.requires, features: ['shader-f16'] } }).variants[0]!.precision).toBe('fp16');
  });
});

describe('artifacts with an f32 fallback on WebGPU', () => {
  let dir: string;
  let ioDir: string;
  let mlpDir: string;
  let server: Server;
  let base: string;
  const fetched: string[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    await saveArtifact(dir, variantsOf(tinyGraph()));
    ioDir = await tempDir();
    await saveArtifact(ioDir, variantsOf(tinyGraph(), 'f16'));
    mlpDir = await tempDir();
    await saveArtifact(mlpDir, variantsOf(trace(mlp, mlpInputs)));
    server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname));
      fetched.push(path);
      readFile(join(dir, path)).then((body) => res.end(body), () => { res.statusCode = 404; res.end(); });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Runs `fn` on a device of its own (one at a time: a device keeps a Dawn thread busy), destroyed after. */
  async function onDevice<T>(ctx: TestContext, opts: AcquireDeviceOptions, fn: (gpu: GpuDevice) => Promise<T>): Promise<T> {
    if (!(await hasGpu())) {
      const required = process.env['KILN_REQUIRE_GPU'];
      if (required && required !== '0') throw new Error('no WebGPU adapter, and KILN_REQUIRE_GPU is set');
      ctx.skip('no WebGPU adapter');
    }
    const gpu = await acquireDevice(opts);
    try {
      return await fn(gpu);
    } finally {
      gpu.destroy();
    }
  }

  /** Runs the artifact at `source` once on `gpu`: the precision it chose and its outputs. */
  async function runOn(gpu: GpuDevice, source: string, inputs: Record<string, TensorData>) {
    const session = await InferenceSession.create(source, { device: gpu });
    try {
      return { precision: session.precision, variant: session.variant, out: await session.run(inputs) };
    } finally {
      await session.release();
    }
  }

  it('a device without shader-f16 gets the f32 fallback, one with it the f16 program; outputs agree within 1e-2', async (ctx) => {
    const inputs = tinyInputs();
    const mlpX = { x: mlpInputs[0]!.data };
    const without = await onDevice(ctx, { optionalFeatures: [] }, async (gpu) => {
      expect(gpu.features.has('shader-f16')).toBe(false);
      return { tiny: await runOn(gpu, dir, inputs), mlp: await runOn(gpu, mlpDir, mlpX) };
    });
    const withF16 = await onDevice(ctx, {}, async (gpu) => {
      if (!gpu.features.has('shader-f16')) ctx.skip('this adapter has no shader-f16');
      return { tiny: await runOn(gpu, dir, inputs), mlp: await runOn(gpu, mlpDir, mlpX) };
    });
    expect([without.tiny.precision, without.tiny.variant]).toEqual(['fp32', 1]);
    expect([withF16.tiny.precision, withF16.tiny.variant]).toEqual(['fp16', 0]);
    expect(without.mlp.precision).toBe('fp32');
    expect(withF16.mlp.precision).toBe('fp16');
    for (const [name, t] of Object.entries(without.tiny.out)) {
      expect(t.dtype).toBe('f32');
      expect(withF16.tiny.out[name]!.dtype).toBe('f32');
      const err = relativeError(withF16.tiny.out[name]!, t);
      expect(err).toBeLessThan(1e-2);
      expect(err).toBeGreaterThan(0); // really two different programs
    }
    expect(relativeError(withF16.mlp.out['y']!, without.mlp.out['y']!)).toBeLessThan(1e-2);
  });

  it('over HTTP, a device without shader-f16 fetches only the fallback\'s files', async (ctx) => {
    await onDevice(ctx, { optionalFeatures: [] }, async (gpu) => {
      fetched.length = 0;
      const r = await runOn(gpu, `${base}/`, tinyInputs());
      expect(r.precision).toBe('fp32');
      expect(fetched[0]).toBe('/manifest.json');
      const rest = fetched.slice(1);
      expect(rest.length).toBe(1 + (await readdir(join(dir, 'fp32', 'kernels'))).length);
      expect(rest.every((f) => f.startsWith('/fp32/'))).toBe(true);
    });
  });

  it('with f16 I/O, the f32 fallback takes and gives f16 like the f16 program', async (ctx) => {
    const x = toF16Array(Array.from(tinyInputs()['x']!.data));
    const feed = { x: tensorData('f16', [3, 37], x) };
    const without = await onDevice(ctx, { optionalFeatures: [] }, (gpu) => runOn(gpu, ioDir, feed));
    const withF16 = await onDevice(ctx, {}, (gpu) => runOn(gpu, ioDir, feed));
    expect(without.precision).toBe('fp32');
    expect(withF16.precision).toBe('fp16');
    for (const name of ['y', 'p']) {
      expect(without.out[name]!.dtype).toBe('f16');
      expect(without.out[name]!.data).toBeInstanceOf(Uint16Array);
      expect(relativeError(withF16.out[name]!, without.out[name]!)).toBeLessThan(1e-2);
    }
    // An f32 feed is refused with the declared type, not the fallback's.
    await onDevice(ctx, { optionalFeatures: [] }, async (gpu) => {
      const session = await InferenceSession.create(ioDir, { device: gpu });
      try {
        expect(session.inputMetadata).toEqual([{ name: 'x', isTensor: true, dtype: 'f16', type: 'float16', shape: [3, 37] }]);
        await expect(session.run(tinyInputs())).rejects.toThrow(/input 'x' is f16\[3,37\] \(f16 bits in a Uint16Array\), got f32\[3,37\]/);
      } finally {
        await session.release();
      }
    });
  });
});
