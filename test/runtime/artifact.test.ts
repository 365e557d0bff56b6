import { readFile, rm, truncate, writeFile, readdir, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/ir/errors.js';
import type { TensorData } from '../../src/ir/tensor-data.js';
import { checkArtifactDevice } from '../../src/runtime/artifact-device.js';
import { loadArtifact } from '../../src/runtime/artifact.js';
import { packArtifact } from '../../src/artifact-writer/pack.js';
import { readArtifactDir } from '../../src/runtime/artifact-node.js';
import { saveArtifact, writeArtifactDir } from '../../src/artifact-writer/folder.js';
import type { GpuDevice } from '../../src/runtime/device.js';
import { InferenceSession } from '../../src/runtime/inference-session.js';
import { ArtifactError, parseManifest } from '../../src/runtime/manifest.js';
import { reflectKernel } from '../../src/runtime/reflect.js';
import { Session } from '../../src/runtime/session.js';
import { sha256Hex } from '../../src/runtime/sha256.js';
import { KILN_VERSION } from '../../src/runtime/version.js';
import { useGpu } from '../helpers/gpu.js';
import { editManifest, tempDir, tinyInputs, tinyProgram } from './artifact-fixture.js';

const bytesOf = (t: TensorData) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe('artifact packing and validation (no GPU)', () => {
  it('KILN_VERSION is the package version', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(KILN_VERSION).toBe(pkg.version);
  });

  it('the manifest states format, model, compiler, kernels with hashes, weights and what a device needs', async () => {
    const { program } = tinyProgram();
    const packed = await packArtifact(program, { compiler: { pipeline: 'O2' } });
    const m = packed.manifest;
    expect(m.format).toBe('kiln-artifact');
    expect(m.formatVersion).toBe(3);
    expect(m.model).toBe('tiny');
    expect(m.compiler).toEqual({ name: 'kiln', version: KILN_VERSION, pipeline: 'O2' });
    expect(m.inputs).toEqual([{ name: 'x', dtype: 'f32', shape: [3, 37] }]);
    expect(m.outputs.map((o) => o.name)).toEqual(['y', 'p']);
    expect(m.variants.length).toBe(1);
    const v = m.variants[0]!;
    expect(v.precision).toBe('fp32');
    expect(v.program!.inputs).toEqual([{ name: 'x', dtype: 'f32', shape: [3, 37], buffer: expect.any(Number) }]);
    expect(v.program!.kernels.length).toBe(program.kernels.length);
    for (const [i, k] of v.program!.kernels.entries()) {
      expect(k.file).toMatch(/^kernels\/\d{3}-[A-Za-z0-9_.-]+\.wgsl$/);
      expect(packed.kernels[k.file]).toBe(program.kernels[i]!.wgsl);
      expect(k.sha256).toBe(await sha256Hex(program.kernels[i]!.wgsl));
    }
    expect(v.weights).toEqual({ file: 'weights.bin', bytes: program.weights.byteLength, sha256: await sha256Hex(program.weights), alignment: 16 });
    expect(Object.keys(packed.weights)).toEqual(['weights.bin']);
    // (37*5 + 5) f32 weights, each padded to 16 bytes.
    expect(v.weights!.bytes).toBe(752 + 32);
    // Limits follow from the kernels' reflection and the buffers.
    const reflections = program.kernels.map((k) => reflectKernel(k));
    expect(v.requires.limits['maxStorageBuffersPerShaderStage']).toBe(Math.max(...reflections.map((r) => r.storageCount)));
    expect(v.requires.limits['maxComputeInvocationsPerWorkgroup']).toBe(Math.max(...reflections.map((r) => r.workgroupSize.reduce((a, b) => a * b))));
    expect(v.requires.limits['maxBufferSize']).toBe(Math.max(...program.buffers.map((b) => b.bytes)));
    expect(v.requires.features).toEqual([]);
  });

  it('stores the Program generically: loading gives back the same program', async () => {
    const { program } = tinyProgram();
    const { variants } = await loadArtifact(await packArtifact(program));
    expect(variants.length).toBe(1);
    const { weights, ...rest } = variants[0]!.program!;
    const { weights: originalWeights, ...originalRest } = program;
    expect(rest).toEqual(originalRest);
    expect(Array.from(weights)).toEqual(Array.from(originalWeights));
  });

  it('stores optional Program parts too: persistent state and its updates', async () => {
    const { program } = tinyProgram();
    const id = Math.max(...program.buffers.map((b) => b.id)) + 1;
    const y = program.outputs[0]!.buffer;
    const withState = {
      ...program,
      buffers: [...program.buffers, { id, bytes: 20, role: 'state' as const, weightOffset: 0, label: 's' }],
      state: [{ name: 's', dtype: 'f32' as const, shape: [5], buffer: id }],
      stateUpdates: [{ from: y, to: id }],
    };
    const { variants: [v], manifest } = await loadArtifact(await packArtifact(withState));
    const loaded = v!.program!;
    expect(loaded.state).toEqual(withState.state);
    expect(loaded.stateUpdates).toEqual(withState.stateUpdates);
    expect(loaded.buffers.at(-1)).toEqual(withState.buffers.at(-1));
    expect(manifest.variants[0]!.program!.stateUpdates).toEqual([{ from: y, to: id }]);
  });

  it('refuses to pack program fields it could not store or that a runtime would not know', async () => {
    const { program } = tinyProgram();
    await expect(packArtifact({ ...program, cpuSteps: [{ op: 'relu' }] } as never)).rejects.toThrow(/program has field\(s\) 'cpuSteps' this runtime does not know/);
    await expect(packArtifact({ ...program, table: new Float32Array(3) } as never)).rejects.toThrow(/program\.table holds binary data/);
  });

  it('writes and reads a folder, replacing an artifact but never a folder of other files', async () => {
    const { program } = tinyProgram();
    const dir = await tempDir();
    const packed = await saveArtifact(dir, program, { ir: { final: 'graph text\n', passes: [{ file: '00-after-fuse.kir', text: 'x\n' }] } });
    expect((await readdir(dir)).sort()).toEqual(['ir', 'kernels', 'manifest.json', 'weights.bin']);
    expect((await readdir(join(dir, 'ir'))).sort()).toEqual(['00-after-fuse.kir', 'final.kir']);
    const files = await readArtifactDir(dir);
    expect((await loadArtifact(files)).manifest).toEqual(packed.manifest);
    // A stale kernel file from an earlier compile does not survive a rewrite.
    await writeFile(join(dir, 'kernels', '999-stale.wgsl'), 'stale');
    await writeArtifactDir(dir, packed);
    expect(await readdir(join(dir, 'kernels'))).not.toContain('999-stale.wgsl');
    const other = await tempDir();
    await writeFile(join(other, 'notes.txt'), 'mine');
    await expect(writeArtifactDir(other, packed)).rejects.toThrow(/holds other files \(notes\.txt\)/);
    await expect(readArtifactDir(other)).rejects.toThrow(/is not a kiln artifact/);
  });

  it('parses manifest structure field by field', () => {
    expect(() => parseManifest('{not json')).toThrow(/manifest\.json: not valid JSON/);
    expect(() => parseManifest({ format: 'zip' })).toThrow(/this is not a kiln artifact/);
    expect(() => parseManifest({ format: 'kiln-artifact', formatVersion: 1, model: 'm', compiler: { name: 'kiln', version: '1', pipeline: 'O2' }, requires: { features: [], limits: {} }, weights: { file: 'weights.bin', bytes: -1 } }))
      .toThrow(/weights\.bytes must be a non-negative integer, got -1/);
    const head = { format: 'kiln-artifact', formatVersion: 2, model: 'm', compiler: { name: 'kiln', version: '1', pipeline: 'O2' }, inputs: [], outputs: [] };
    expect(() => parseManifest({ ...head, variants: [] })).toThrow(/variants is empty/);
    expect(() => parseManifest({ ...head, variants: [{ precision: 'fp8' }] })).toThrow(/variants\[0\]\.requires must be an object/);
    expect(() => parseManifest({ ...head, variants: [], extra: 1 })).toThrow(/the manifest has field\(s\) 'extra' this runtime does not know/);
  });

  it('checks the device against the features and limits the manifest requires', async () => {
    const artifact = await loadArtifact(await packArtifact(tinyProgram().program));
    const need = artifact.manifest.variants[0]!.requires.limits;
    const fake = (features: string[], limits: Record<string, number>) =>
      ({ features: new Set(features), limits, describe: () => 'fake adapter' }) as unknown as GpuDevice;
    expect(() => checkArtifactDevice(artifact, fake([], { ...need }))).not.toThrow();
    expect(() => checkArtifactDevice(artifact, fake([], { ...need, maxStorageBuffersPerShaderStage: 1 })))
      .toThrow(new RegExp(`cannot run on this device \\(fake adapter\\): it needs maxStorageBuffersPerShaderStage >= ${need['maxStorageBuffersPerShaderStage']} \\(most storage buffers one kernel binds\\), the device allows 1`));
    const v = artifact.manifest.variants[0]!;
    const f16 = { ...artifact, manifest: { ...artifact.manifest, variants: [{ ...v, requires: { ...v.requires, features: ['shader-f16'] } }] } };
    expect(() => checkArtifactDevice(f16, fake([], { ...need }))).toThrow(/needs WebGPU feature\(s\) shader-f16/);
  });
});

describe('artifacts on WebGPU', () => {
  const gpu = useGpu();

  it('round trip: compile -> folder -> runtime-only load -> run equals the in-memory run bit for bit', async () => {
    const { program } = tinyProgram();
    const dir = await tempDir();
    await saveArtifact(dir, program, { compiler: { pipeline: 'O2' } });
    const inputs = tinyInputs();

    const direct = await Session.create(gpu(), program);
    const fromDisk = await InferenceSession.create(dir, { device: gpu() });
    try {
      const want = await direct.run(inputs);
      const got = await fromDisk.run(inputs);
      expect(fromDisk.inputNames).toEqual(['x']);
      expect(fromDisk.outputNames).toEqual(['y', 'p']);
      expect(Object.keys(got)).toEqual(['y', 'p']);
      for (const name of ['y', 'p']) {
        expect(got[name]!.shape).toEqual(want[name]!.shape);
        expect(Array.from(bytesOf(got[name]!))).toEqual(Array.from(bytesOf(want[name]!)));
      }
      // A bare typed array takes the declared dtype and shape.
      const again = await fromDisk.run({ x: inputs['x']!.data });
      expect(Array.from(bytesOf(again['p']!))).toEqual(Array.from(bytesOf(want['p']!)));
      // The outputs are not trivially equal: softmax rows sum to 1, relu is non-negative.
      const p = Array.from(got['p']!.data);
      expect(p.slice(0, 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(Array.from(got['y']!.data).every((v) => v >= 0)).toBe(true);
      expect(fromDisk.stats.pipelinesCreated).toBe(program.kernels.length);
    } finally {
      direct.destroy();
      await fromDisk.release();
    }
    expect(gpu().isLost).toBe(false); // a shared device survives release()
  });

  it('loads from files in memory (as a browser would after fetching them)', async () => {
    const { program } = tinyProgram();
    const packed = await packArtifact(program);
    const session = await InferenceSession.fromFiles({
      manifest: JSON.stringify(packed.manifest),
      kernels: Object.fromEntries(Object.entries(packed.kernels).map(([f, t]) => [f, new TextEncoder().encode(t)])),
      weights: packed.weights['weights.bin']!.slice().buffer,
    }, { device: gpu() });
    try {
      const out = await session.run(tinyInputs());
      expect(out['y']!.shape).toEqual([3, 5]);
    } finally {
      await session.release();
    }
  });

  // Each corruption on a fresh copy; each must be refused before anything is created on the GPU.
  const weightBuffer = (m: any) => m.variants[0].program.buffers.find((b: any) => b.role === 'weight' && b.weightOffset > 0);
  const corruptions: [string, (dir: string) => Promise<void>, RegExp][] = [
    ['a flipped weight byte', async (dir) => {
      const w = await readFile(join(dir, 'weights.bin'));
      w[17] ^= 0x01;
      await writeFile(join(dir, 'weights.bin'), w);
    }, /artifact 'tiny': weights\.bin is corrupted: its SHA-256 is [0-9a-f]{64} but the manifest says [0-9a-f]{64}/],
    ['a truncated weights.bin', (dir) => truncate(join(dir, 'weights.bin'), 100),
      /weights\.bin has 100 bytes but the manifest says 784: the file is truncated/],
    ['a weight offset past the end of weights.bin', (dir) => editManifest(dir, (m) => { weightBuffer(m).weightOffset = m.variants[0].weights.bytes; }),
      /buffer \d+ 'b': weight bytes 784\.\.804 lie outside the 784-byte weights blob/],
    ['a weight size past the end of weights.bin', (dir) => editManifest(dir, (m) => { weightBuffer(m).bytes += 64; }),
      /weight bytes \d+\.\.\d+ lie outside the 784-byte weights blob/],
    ['a misaligned weight offset', (dir) => editManifest(dir, (m) => { weightBuffer(m).weightOffset -= 4; }),
      /weight offset \d+ is not a multiple of the stated alignment 16/],
    ['a dispatch naming a buffer that does not exist', (dir) => editManifest(dir, (m) => { m.variants[0].program.dispatches[0].buffers[0] = 99; }),
      /dispatch #0 '.*' names buffer 99, which the program does not declare/],
    ['a newer format version', (dir) => editManifest(dir, (m) => { m.formatVersion = 4; }),
      /manifest\.json: artifact format version 4; this runtime reads versions 1 and 2 and 3 \(load it with the newer kiln that wrote it, or recompile the model/],
    ['an unknown format version', (dir) => editManifest(dir, (m) => { m.formatVersion = '2'; }),
      /manifest\.json: artifact format version "2"; this runtime reads versions 1 and 2 and 3 \(recompile the model/],
    // Edits that leave a well-formed manifest and would change results silently: the checksum.
    ...([
      ['a dropped dispatch', (m: any) => { m.variants[0].program.dispatches.pop(); }],
      ['zero workgroups', (m: any) => { m.variants[0].program.dispatches[0].workgroups = [0, 1, 1]; }],
      ['two dispatch buffers swapped', (m: any) => { const b = m.variants[0].program.dispatches[0].buffers; [b[0], b[1]] = [b[1], b[0]]; }],
      ['an output pointed at another buffer', (m: any) => { const p = m.variants[0].program; p.outputs[0].buffer = p.outputs[1].buffer; }],
      ['a uniform value changed', (m: any) => { const d = m.variants[0].program.dispatches.find((x: any) => x.uniforms?.length); d.uniforms[0] += 1; }],
      ['the checksum itself removed', (m: any) => { delete m.sha256; }],
    ] as [string, (m: any) => void][]).map(([what, edit]): [string, (dir: string) => Promise<void>, RegExp] => [
      `${what} (manifest not re-signed)`, (dir) => editManifest(dir, edit, { resign: false }),
      what.startsWith('the checksum') ? /manifest\.json: sha256 must be a string, got nothing/ : /manifest\.json was modified or corrupted: the SHA-256 of its contents is [0-9a-f]{64} but it says [0-9a-f]{64}/,
    ]),
    ['a wrong program version', (dir) => editManifest(dir, (m) => { m.variants[0].program.version = 99; }),
      /its program format version is 99; this runtime runs version 1/],
    ['a tampered kernel file', async (dir) => {
      const [file] = (await readdir(join(dir, 'kernels'))).sort();
      const path = join(dir, 'kernels', file!);
      await writeFile(path, (await readFile(path, 'utf8')).replace(/\bmain\b/, 'main2'));
    }, /kernel #0 '.*': kernels\/000-.*\.wgsl was modified or corrupted: its SHA-256 is/],
    ['a dispatch binding one buffer fewer than its kernel declares', (dir) => editManifest(dir, (m) => { m.variants[0].program.dispatches[0].buffers.pop(); }),
      /dispatch #0 '.*' \(kernel '.*'\): binds \d+ buffer\(s\) but the kernel has \d+ storage binding\(s\)/],
    ['a required limit understated', (dir) => editManifest(dir, (m) => { m.variants[0].requires.limits.maxStorageBuffersPerShaderStage = 1; }),
      /requires\.limits\.maxStorageBuffersPerShaderStage is 1 but its program needs \d+/],
    ['a kernel file outside the artifact', (dir) => editManifest(dir, (m) => { m.variants[0].program.kernels[0].file = '../../etc/passwd'; }),
      /variants\[0\]\.program\.kernels\[0\]\.file '\.\.\/\.\.\/etc\/passwd' is not a plain relative path inside the artifact/],
    ['a variant whose outputs differ from the model\'s', (dir) => editManifest(dir, (m) => { m.outputs[0].shape = [3, 6]; }),
      /variants\[0\] \(fp32\): its program's outputs \(y: f32\[3,5\], p: f32\[3,5\]\) differ from the model's \(y: f32\[3,6\], p: f32\[3,5\]\)/],
    ['a missing kernel file', async (dir) => {
      const [file] = (await readdir(join(dir, 'kernels'))).sort();
      await rm(join(dir, 'kernels', file!));
    }, /cannot read kernels\/000-.*\.wgsl: ENOENT/],
  ];

  for (const [what, corrupt, message] of corruptions) {
    it(`refuses ${what}, creating nothing on the GPU`, async () => {
      const dir = await tempDir();
      await saveArtifact(dir, tinyProgram().program);
      await corrupt(dir);
      const before = { ...gpu().counters };
      const attempt = InferenceSession.create(dir, { device: gpu() });
      await expect(attempt).rejects.toThrow(ArtifactError);
      await expect(attempt).rejects.toThrow(message);
      await expect(attempt).rejects.toBeInstanceOf(KilnError);
      expect(gpu().counters).toEqual(before);
    });
  }

  it('the corruption cases start from an artifact that loads (here by file: URL)', async () => {
    const dir = await tempDir();
    await saveArtifact(dir, tinyProgram().program);
    const s = await InferenceSession.create(pathToFileURL(dir), { device: gpu() });
    expect((await s.run(tinyInputs()))['y']!.shape).toEqual([3, 5]);
    await s.release();
  });

  it('refuses an artifact whose folder has no manifest', async () => {
    const dir = join(await tempDir(), 'nothing.kiln');
    await mkdir(dir);
    await expect(InferenceSession.create(dir, { device: gpu() })).rejects.toThrow(/is not a kiln artifact \(a folder with manifest\.json\)/);
  });
});
