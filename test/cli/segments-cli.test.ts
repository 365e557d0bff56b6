import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln-cli.js';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { attr, buildModel, node, OnnxType } from '../frontend/onnx/onnx-builder.js';

// kiln compile -o, inspect and run ARTIFACT on a model with an op that runs on the CPU between
// two WebGPU segments (NonZero), as users run them: the built binary.

describe('kiln compile, inspect and run of a model with a CPU segment', () => {
  let dir: string;
  let model: string;
  let artifact: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-cli-segments-'));
    model = join(dir, 'nz.onnx');
    artifact = join(dir, 'nz.kiln');
    await writeFile(model, buildModel({
      opset: 13, inputs: [{ name: 'x', dims: [2, 5] }], outputs: [{ name: 'y' }],
      nodes: [
        node('Relu', ['x'], ['r']), node('NonZero', ['r'], ['nz']),
        node('Cast', ['nz'], ['f'], { to: attr.i(OnnxType.FLOAT) }), node('Add', ['f', 'half'], ['y']),
      ],
      initializers: [{ name: 'half', data_type: OnnxType.FLOAT, dims: [1], float_data: [0.5] }],
    }));
    await writeFile(join(dir, 'x.npy'), writeNpy(tensorData('f32', [2, 5], [1, -2, 0, 3, 0, -1, 4, 0, 5, 0])));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('compile -o writes its segments, inspect lists them, and run ARTIFACT gives what run MODEL gives', async () => {
    const c = await kiln('compile', model, '-o', artifact);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^compiled 'test_graph': \d+ dispatches, \d+ shaders, 3 segments \(1 on the CPU\), 2 transfers in [\d.]+ ms -> .*nz\.kiln$/m);
    expect((await readdir(join(artifact, 'segments'))).sort()).toEqual(['0', '1', '2']);
    expect((await readdir(join(artifact, 'segments', '1')))).toEqual(['graph.kir']);

    const i = await kiln('inspect', artifact);
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/^segments {2}3 in run order \(1 on the CPU, run by the reference executor\), 2 transfers per run$/m);
    expect(i.stdout).toMatch(/^\[segment 0: webgpu, takes %x, gives %\S+\]$/m);
    expect(i.stdout).toMatch(/^\[segment 1: cpu, takes %\S+, gives %\S+\]\n {2}ops {7}nonzero$/m);
    expect(i.stdout).toMatch(/^\[segment 2: webgpu, takes %\S+, gives %y\]$/m);
    expect(i.stdout).toMatch(/^transfers\n {2}%\S+ -> %\S+\n {2}%\S+ -> %\S+$/m);
    const json = JSON.parse((await kiln('inspect', artifact, '--json')).stdout);
    expect(json.variants[0].segments.map((s: { device: string }) => s.device)).toEqual(['webgpu', 'cpu', 'webgpu']);
    expect(json.variants[0].segments[1].ops).toEqual(['nonzero']);
    expect(json.variants[0].transfers).toHaveLength(2);

    const fromArtifact = await kiln('run', artifact, '--input', `x=${join(dir, 'x.npy')}`, '--save-outputs', join(dir, 'a'), '--iterations', '1');
    expect(fromArtifact.code, fromArtifact.stderr).toBe(0);
    expect(fromArtifact.stdout).toMatch(/^segments: 3 \(1 on the CPU\), 2 transfers$/m);
    const fromModel = await kiln('run', model, '--input', `x=${join(dir, 'x.npy')}`, '--save-outputs', join(dir, 'm'), '--iterations', '1');
    expect(fromModel.code, fromModel.stderr).toBe(0);
    const a = readNpy(await readFile(join(dir, 'a', 'y.npy')), 'y.npy');
    const m = readNpy(await readFile(join(dir, 'm', 'y.npy')), 'y.npy');
    // relu keeps 1, 3 (row 0) and 4, 5 (row 1): their coordinates, plus 0.5.
    expect(a.shape).toEqual([2, 4]);
    expect(Array.from(a.data)).toEqual([0.5, 0.5, 1.5, 1.5, 0.5, 3.5, 1.5, 3.5]);
    expect(Array.from(a.data)).toEqual(Array.from(m.data));
  });

  it('profile says it times one WebGPU program and points to run', async () => {
    const r = await kiln('profile', artifact);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/holds segments that run on the CPU.*time it with kiln run/);
  });
});
