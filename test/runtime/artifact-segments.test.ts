// Artifacts of programs placed on several devices: ops without a WebGPU kernel (NonZero,
// NonMaxSuppression) run on the CPU between WebGPU segments. Compiled, packed, loaded with the
// runtime alone and run on the adapter, they must give the ONNX suite's outputs and exactly what
// the same program gives run in memory (`kiln run MODEL`'s path).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saveArtifact } from '../../src/artifact-writer/folder.js';
import { packArtifact, signManifest } from '../../src/artifact-writer/pack.js';
import { compile, compileSegmented } from '../../src/compiler.js';
import { decodeModel, decodeTensor, importModelForFeeds, importOnnx, readTensor, type ConstTensor } from '../../src/frontend/onnx/index.js';
import { parseGraph } from '../../src/ir/parser.js';
import type { TensorData } from '../../src/ir/tensor-data.js';
import { loadArtifact } from '../../src/runtime/artifact.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { InferenceSession } from '../../src/runtime/inference-session.js';
import { ArtifactError } from '../../src/runtime/manifest.js';
import { SegmentedSession } from '../../src/runtime/segmented.js';
import { attr, buildModel, node, OnnxType } from '../frontend/onnx/onnx-builder.js';
import { backendCaseNames, ONNX_BACKEND_ROOT } from '../helpers/onnx-backend-case.js';
import { useGpu } from '../helpers/gpu.js';

/** A suite case: its model, its first data set's feeds (as the importer takes them) and expected outputs, in order. */
function suiteCase(name: string) {
  const dir = join(ONNX_BACKEND_ROOT, 'node', name);
  const model = decodeModel(readFileSync(join(dir, 'model.onnx')), `${name}/model.onnx`);
  const data = join(dir, 'test_data_set_0');
  const read = (prefix: string) => readdirSync(data).filter((f) => f.startsWith(prefix)).sort()
    .map((f) => readTensor(decodeTensor(readFileSync(join(data, f)), f), undefined, f));
  const inputs = read('input_');
  const feeds: Record<string, ConstTensor> = Object.fromEntries((model.graph?.input ?? []).map((v, i) => [v.name ?? '', inputs[i]!]));
  const outputs = (model.graph?.output ?? []).map((v, i) => ({ name: v.name ?? '', data: read('output_')[i]!.data }));
  return { model, feeds, outputs };
}

const plain = (t: TensorData) => ({ dtype: t.dtype, shape: [...t.shape], data: Array.from(t.data) });

const cases = backendCaseNames(/^test_(nonzero_example|nonmaxsuppression_.*)$/);
const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'kiln-segments-'));
  dirs.push(d);
  return join(d, 'model.kiln');
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('artifacts holding CPU segments', () => {
  const gpu = useGpu();

  it.skipIf(cases.length === 0)('the suite\'s NonZero and NonMaxSuppression cases, from an artifact, give its outputs and the in-memory run\'s', async () => {
    expect(cases).toContain('test_nonzero_example');
    expect(cases.filter((c) => c.startsWith('test_nonmaxsuppression_')).length).toBeGreaterThanOrEqual(10);
    for (const name of cases) {
      const { model, feeds, outputs } = suiteCase(name);
      // NMS's limits are inputs that decide shapes: frozen to the data set's values, as `kiln run` does.
      const { graph, frozen } = importModelForFeeds(model, feeds);
      const compiled = compileSegmented(graph);
      expect(compiled.segments.some((s) => s.device === 'cpu'), name).toBe(true);
      const inputs = Object.fromEntries(compiled.inputs.map((n) => [n, feeds[n]!.data]));
      const inMemory = await SegmentedSession.create(gpu(), compiled);
      const want = await inMemory.run(inputs).finally(() => inMemory.destroy());

      const session = await InferenceSession.fromFiles(await packArtifact([{ segmented: compiled }]), { device: gpu() });
      try {
        const got = await session.run(inputs);
        for (const o of outputs) {
          expect(plain(got[o.name]!), `${name}: ${o.name}`).toEqual(plain(o.data));
          expect(plain(got[o.name]!), `${name}: ${o.name} (in memory)`).toEqual(plain(want[o.name]!));
        }
        expect(session.inputNames).toEqual(Object.keys(feeds).filter((n) => !frozen.includes(n)));
      } finally {
        await session.release();
      }
    }
  });

  it.skipIf(cases.length === 0)('InferenceSession.create on an ONNX file with CPU ops compiles it to segments and runs it', async () => {
    for (const name of ['test_nonzero_example', 'test_nonmaxsuppression_two_batches']) {
      const { feeds, outputs } = suiteCase(name);
      const session = await InferenceSession.create(join(ONNX_BACKEND_ROOT, 'node', name, 'model.onnx'), { device: gpu(), compileCache: false });
      try {
        expect(session.manifest.variants[0]!.segments?.list.some((s) => s.device === 'cpu'), name).toBe(true);
        const got = await session.run(Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, t.data])));
        for (const o of outputs) expect(plain(got[o.name]!), `${name}: ${o.name}`).toEqual(plain(o.data));
      } finally {
        await session.release();
      }
    }
  });

  it('a WebGPU segment, a CPU segment and a WebGPU segment after it round-trip through an artifact folder on the adapter', async () => {
    // relu (WebGPU) -> NonZero (CPU; its count is bound at run time) -> Cast, Add (WebGPU).
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: [2, 5] }], outputs: [{ name: 'y' }],
      nodes: [
        node('Relu', ['x'], ['r']), node('NonZero', ['r'], ['nz']),
        node('Cast', ['nz'], ['f'], { to: attr.i(OnnxType.FLOAT) }), node('Add', ['f', 'half'], ['y']),
      ],
      initializers: [{ name: 'half', data_type: OnnxType.FLOAT, dims: [1], float_data: [0.5] }],
    });
    const graph = importOnnx(bytes);
    const compiled = compileSegmented(graph);
    expect(compiled.segments.map((s) => s.device)).toEqual(['webgpu', 'cpu', 'webgpu']);
    const dir = await tempDir();
    await saveArtifact(dir, [{ segmented: compiled }], { compiler: { pipeline: 'O2' } });
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.variants[0].segments.version).toBe(1);
    expect(manifest.variants[0].segments.list.map((s: { device: string }) => s.device)).toEqual(['webgpu', 'cpu', 'webgpu']);
    expect(await readFile(join(dir, 'segments/1/graph.kir'), 'utf8')).toMatch(/nonzero\(/);

    const session = await InferenceSession.create(dir, { device: gpu() });
    try {
      expect(session.outputMetadata[0]).toMatchObject({ name: 'y', dtype: 'f32', shape: [2, expect.stringMatching(/^nonzero/)] });
      for (const values of [[1, -2, 0, 3, 0, -1, 4, 0, 5, 0], [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]) {
        const x = { dtype: 'f32' as const, shape: [2, 5], data: new Float32Array(values) };
        const got = await session.run({ x });
        const want = runOnCpu(graph, { x });
        expect(plain(got.y!)).toEqual(plain(want['y']!));
      }
      expect(session.stats.runs).toBe(3);
    } finally {
      await session.release();
    }
  });

  it('keeps a CPU segment\'s constants in a file of their own, and refuses a damaged one or a graph that is not valid', async () => {
    const big = Array.from({ length: 40 }, (_, i) => (i % 7) - 3 + 0.25);
    const g = parseGraph(`graph g(%x: f32[40] @webgpu) -> (f32[40] @webgpu) {
  %0 = relu(%x) : f32[40] @webgpu
  %1 = transfer(%0) : f32[40] @cpu
  %c = const() {value = [${big.join(', ')}]} : f32[40] @cpu
  %2 = mul(%1, %c) : f32[40] @cpu
  %3 = transfer(%2) : f32[40] @webgpu
  %4 = neg(%3) : f32[40] @webgpu
  return %4
}
`);
    const compiled = compileSegmented(g);
    expect(compiled.segments.map((s) => s.device)).toEqual(['webgpu', 'cpu', 'webgpu']);
    const packed = await packArtifact([{ segmented: compiled }]);
    const [file, bytes] = Object.entries(packed.weights).find(([f]) => f.endsWith('constants.bin'))!;
    expect(file).toBe('segments/1/constants.bin');
    expect(bytes.byteLength).toBe(40 * 4);
    const session = await InferenceSession.fromFiles(packed, { device: gpu() });
    try {
      const x = { dtype: 'f32' as const, shape: [40], data: new Float32Array(big.map((v, i) => v * (i % 2 ? 1 : -1))) };
      expect(plain((await session.run({ x }))['4']!)).toEqual(plain(runOnCpu(g, { x })['4']!));
    } finally {
      await session.release();
    }

    const flipped = bytes.slice();
    flipped[0]! ^= 1;
    await expect(loadArtifact({ ...packed, weights: { ...packed.weights, [file]: flipped } })).rejects.toThrow(/segment #1 \(cpu\).*constants\.bin is corrupted/);

    // An edited record, signed again (as a kiln writing nonsense would): the rebuild names the node.
    const edited = structuredClone(packed.manifest) as unknown as { variants: { segments: { list: { graph?: { nodes: { op: string; outputs: { type: { dtype: string } }[] }[] } }[] } }[] };
    const mul = edited.variants[0]!.segments.list[1]!.graph!.nodes.find((n) => n.op === 'mul')!;
    mul.outputs[0]!.type.dtype = 'i32';
    const resigned = await signManifest(edited as never);
    await expect(loadArtifact({ ...packed, manifest: resigned })).rejects.toThrow(ArtifactError);
    await expect(loadArtifact({ ...packed, manifest: resigned })).rejects.toThrow(/segment #1 \(cpu\).*mul.*declared i32/);
  });

  it('a model on the WebGPU device alone still packs as one program, with no segments field, and loads as before', async () => {
    const bytes = buildModel({ opset: 13, inputs: [{ name: 'x', dims: [4] }], outputs: [{ name: 'y' }], nodes: [node('Relu', ['x'], ['y'])] });
    const program = compile(importOnnx(bytes));
    const packed = await packArtifact(program);
    const variant = packed.manifest.variants[0]!;
    expect(Object.keys(variant).sort()).toEqual(['precision', 'program', 'requires', 'weights']);
    // An older reader's layout: version 2, no checksum, the same variant.
    const { sha256: _sha, ...rest } = packed.manifest;
    const older = await loadArtifact({ ...packed, manifest: { ...rest, formatVersion: 2 } });
    expect(older.variants[0]!.program).toBeDefined();
    // And the first layout, one program at the top level (version 1), runs.
    const v1 = { format: 'kiln-artifact', formatVersion: 1, model: rest.model, compiler: rest.compiler, requires: variant.requires, weights: variant.weights, program: variant.program };
    const session = await InferenceSession.fromFiles({ ...packed, manifest: JSON.stringify(v1) }, { device: gpu() });
    try {
      const got = await session.run({ x: { dtype: 'f32', shape: [4], data: new Float32Array([-1, 2, -3, 4]) } });
      expect(Array.from(got.y!.data as Float32Array)).toEqual([0, 2, 0, 4]);
    } finally {
      await session.release();
    }
  });
});
