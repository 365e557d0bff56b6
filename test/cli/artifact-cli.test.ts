import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln-cli.js';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { tensorData } from '../../src/ir/tensor-data.js';

// kiln compile -o, kiln run ARTIFACT and kiln inspect, as users run them: the built binary.
const MLP = join(import.meta.dirname, '../../dist/examples/mlp/model.js');


describe('kiln compile -o, run ARTIFACT, inspect', () => {
  let dir: string;
  let artifact: string;
  let compiled: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-cli-artifact-'));
    artifact = join(dir, 'mlp.kiln');
    compiled = await kiln('compile', MLP, '-o', artifact, '--save-ir');
  });

  it('compile -o writes the artifact folder, with one progress line per stage', async () => {
    expect(compiled.code, compiled.stderr).toBe(0);
    expect(compiled.stdout).toMatch(/^compiled 'Sequential': 2 dispatches, 2 shaders in [\d.]+ ms -> .*mlp\.kiln$/m);
    // Dawn itself may print 'Warning: ...' lines when the adapter is probed for kernel choices.
    const stages = compiled.stderr.split('\n').filter((l) => l && !l.startsWith('Warning:')).map((l) => l.split(/\s+/)[0]);
    expect(stages).toEqual(['load', 'passes', 'codegen', 'write']);
    expect(compiled.stderr).toMatch(/^write\s+[\d.]+ ms {2}.*mlp\.kiln: 2 kernel files, 397\.5 KiB of weights, \d+ IR dumps$/m);
    expect((await readdir(artifact)).sort()).toEqual(['ir', 'kernels', 'manifest.json', 'weights.bin']);
    expect((await readdir(join(artifact, 'kernels'))).length).toBe(2);
    const ir = await readdir(join(artifact, 'ir'));
    expect(ir).toContain('final.kir');
    expect(ir.some((f) => /^\d\d-after-fuse\.kir$/.test(f))).toBe(true);
    const manifest = JSON.parse(await readFile(join(artifact, 'manifest.json'), 'utf8'));
    expect(manifest.compiler.pipeline).toBe('O2');
  });

  it('inspect summarises model, tensors, kernels, memory and needs', async () => {
    const r = await kiln('inspect', artifact);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^model {5}Sequential$/m);
    expect(r.stdout).toMatch(/^inputs\n {2}x +f32\[8,784\]$/m);
    expect(r.stdout).toMatch(/^outputs\n {2}y +f32\[8,10\]$/m);
    expect(r.stdout).toMatch(/^kernels {3}2 distinct, 2 dispatches per run$/m);
    expect(r.stdout).toMatch(/^ {2}0 +1 +\d+x\d+x\d+ +4 storage \+ uniform +matmul_add_relu +kernels\/000-matmul_add_relu\.wgsl$/m);
    // 784*128 + 128 + 128*10 + 10 floats of weights.
    expect(r.stdout).toMatch(/^ {2}weights +397\.5 KiB in 4 buffers$/m);
    expect(r.stdout).toMatch(/^ {2}features {2}none$/m);
    expect(r.stdout).toMatch(/^ {2}maxStorageBufferBindingSize +>= 401408 +largest buffer bound to one storage binding, bytes$/m);
  });

  it('compile --max-binding-bytes splits weights to fit that binding size; the artifact says so and runs', async () => {
    const small = join(dir, 'mlp-100k.kiln');
    const c = await kiln('compile', MLP, '-o', small, '--max-binding-bytes', '100KiB');
    expect(c.code, c.stderr).toBe(0);
    const r = await kiln('inspect', small);
    // The first layer's weight [128, 784] becomes 4 blocks of 32 rows (100352 bytes each).
    expect(r.stdout).toMatch(/^ {2}weights +397\.5 KiB in 7 buffers$/m);
    expect(r.stdout).toMatch(/^ {2}maxStorageBufferBindingSize +>= 100352 +largest buffer bound to one storage binding, bytes$/m);
    const run = await kiln('run', small, '--compare', 'cpu');
    expect(run.code, run.stderr).toBe(0);
    const bad = await kiln('compile', MLP, '-o', join(dir, 'bad.kiln'), '--max-binding-bytes', '12x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-binding-bytes takes a byte count of at least 4 \(e\.g\. 134217728 or 128MiB\), got '12x'/);
  });

  it('run ARTIFACT reads .npy inputs, saves .npy outputs equal to running the model, and compares with the CPU', async () => {
    const values = Array.from({ length: 8 * 784 }, (_, i) => Math.sin(i * 0.37));
    const input = join(dir, 'x.npy');
    await writeFile(input, writeNpy(tensorData('f32', [8, 784], values)));
    const [fromArtifact, fromModel] = [join(dir, 'out-artifact'), join(dir, 'out-model')];
    const a = await kiln('run', artifact, '--input', `x=${input}`, '--save-outputs', fromArtifact, '--compare', 'cpu', '--iterations', '2');
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^artifact: .*mlp\.kiln \(model 'Sequential', compiled by kiln [\d.]+, pipeline O2\)$/m);
    expect(a.stdout).toMatch(/^y: f32\[8,10\] /m);
    expect(a.stdout).toMatch(/read and validate [\d.]+ ms, load [\d.]+ ms, first run [\d.]+ ms, steady [\d.]+ ms \(mean of 2/);
    const diff = Number(/max abs diff vs cpu \(y\): ([\d.e+-]+)/.exec(a.stdout)![1]);
    expect(diff).toBeLessThan(1e-5);
    const m = await kiln('run', MLP, '--input', input, '--save-outputs', fromModel, '--iterations', '0');
    expect(m.code, m.stderr).toBe(0);
    const ya = readNpy(await readFile(join(fromArtifact, 'y.npy')), 'y.npy');
    const ym = readNpy(await readFile(join(fromModel, 'y.npy')), 'y.npy');
    expect(ya.shape).toEqual([8, 10]);
    expect(Array.from(ya.data)).toEqual(Array.from(ym.data));
    expect(Array.from(ya.data).some((v) => v !== 0)).toBe(true);
  });

  it('run ARTIFACT draws the same seeded random inputs as run MODEL', async () => {
    const [outA, outM] = [join(dir, 'seed-artifact'), join(dir, 'seed-model')];
    expect((await kiln('run', artifact, '--seed', '5', '--save-outputs', outA, '--iterations', '0')).code).toBe(0);
    expect((await kiln('run', MLP, '--seed', '5', '--save-outputs', outM, '--iterations', '0')).code).toBe(0);
    expect(await readFile(join(outA, 'y.npy'))).toEqual(await readFile(join(outM, 'y.npy')));
  });

  it('refuses a corrupted artifact before touching the GPU, in run and in inspect', async () => {
    const broken = join(dir, 'broken.kiln');
    expect((await kiln('compile', MLP, '-o', broken, '--quiet')).code).toBe(0);
    const w = await readFile(join(broken, 'weights.bin'));
    w[1234] ^= 0x40;
    await writeFile(join(broken, 'weights.bin'), w);
    const r = await kiln('run', broken);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kiln run: artifact 'Sequential': weights\.bin is corrupted: its SHA-256 is [0-9a-f]{64} but the manifest says [0-9a-f]{64}$/m);
    expect(r.stdout).not.toMatch(/adapter:/);
    expect((await kiln('inspect', broken)).stderr).toMatch(/weights\.bin is corrupted/);
  });

  it('gives one-line reasons for misuse', async () => {
    const other = await mkdtemp(join(tmpdir(), 'kiln-cli-other-'));
    await writeFile(join(other, 'notes.txt'), 'mine');
    const overwrite = await kiln('compile', MLP, '-o', other);
    expect(overwrite.code).toBe(1);
    expect(overwrite.stderr).toMatch(/cannot write an artifact to .*: the folder holds other files \(notes\.txt\); choose a new or empty folder/);
    // Refused before the model loads, not after compiling it.
    expect(overwrite.stderr).not.toMatch(/^load /m);
    const onFile = await kiln('compile', MLP, '-o', join(other, 'notes.txt'));
    expect(onFile.stderr).toMatch(/cannot write an artifact to .*notes\.txt: it is a file/);
    expect(onFile.stderr).not.toMatch(/^load /m);
    expect(await readdir(other)).toEqual(['notes.txt']);

    expect((await kiln('run', artifact, '-O0')).stderr).toMatch(/--opt-level applies when compiling a MODEL; .* is an artifact, already compiled/);
    expect((await kiln('run', join(dir, 'missing.kiln'))).stderr).toMatch(/no kiln artifact at .*missing\.kiln \(a folder with manifest\.json\)/);
    // A model is not an artifact: the error says how to make one, not to overwrite the model.
    expect((await kiln('inspect', MLP)).stderr).toMatch(/is a model, not a kiln artifact: compile it first \(kiln compile .* -o \w+\.kiln; then kiln inspect \w+\.kiln\)/);
    const bad = join(dir, 'bad.npy');
    await writeFile(bad, writeNpy(tensorData('f32', [2, 3], [1, 2, 3, 4, 5, 6])));
    expect((await kiln('run', artifact, '--input', `x=${bad}`)).stderr).toMatch(/input 'x' is f32\[8,784\] but .*bad\.npy holds f32\[2,3\]/);
    expect((await kiln('run', artifact, '--input', `z=${bad}`)).stderr).toMatch(/--input names 'z', which is not an input \(the model's inputs: x: f32\[8,784\]\)/);
    expect((await kiln('compile', MLP, '--save-ir')).stderr).toMatch(/--save-ir keeps the IR in the artifact: give -o OUT too/);
  }, 240_000);
});
