import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.js';
import { kiln, repoPath, type CliResult } from '../helpers/kiln-cli.js';

// --precision and --io-precision in kiln compile and kiln run, as users run them: the built binary.
const MLP = repoPath('dist/examples/mlp/model.js');

const kib = (line: string, what: string) => Number(new RegExp(`${what} ([\\d.]+) KiB`).exec(line)![1]);

describe('kiln compile and run --precision', () => {
  let dir: string;
  let artifact: string;
  let compiled: CliResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-cli-precision-'));
    artifact = join(dir, 'mlp16.kiln');
    compiled = await kiln('compile', MLP, '-o', artifact, '--precision', 'fp16', '--stats');
  });

  it('compile --precision fp16 -o writes the f16 program and its f32 fallback, and --stats shows the halving', async () => {
    // The adapter here must have shader-f16 for this (CI's lavapipe does); without it, the error is the point.
    if (compiled.code !== 0) {
      expect(compiled.stderr).toMatch(/^kiln: --precision fp16: the adapter \(.*\) lacks the shader-f16 feature; use --precision fp32 or auto$/m);
      return;
    }
    expect(compiled.stdout).toMatch(/^precision: fp16 \(asked for\)$/m);
    expect(compiled.stdout).toMatch(/-> .*mlp16\.kiln \(fp16, with an fp32 fallback\)$/m);
    // (Dawn itself may warn on stderr when the adapter is probed.)
    const stages = compiled.stderr.split('\n').filter((l) => /^\w/.test(l) && !l.startsWith('Warning:')).map((l) => l.split(/\s+/)[0]);
    expect(stages).toEqual(['load', 'passes', 'codegen', 'fallback', 'codegen', 'write']);
    const line = /^precision: +fp16: .*$/m.exec(compiled.stdout)![0];
    // 784*128 + 128 + 128*10 + 10 weights: 397.5 KiB in f32, exactly half in f16.
    expect(kib(line, 'weights')).toBe(198.8);
    expect(line).toMatch(/vs 397\.5 KiB in f32 \(50%\)/);
    expect(compiled.stdout).toMatch(/^weights: +198\.8 KiB$/m);
    const manifest = JSON.parse(await readFile(join(artifact, 'manifest.json'), 'utf8'));
    expect(manifest.formatVersion).toBe(3);
    expect(manifest.variants.map((v: { precision: string }) => v.precision)).toEqual(['fp16', 'fp32']);
    expect(manifest.variants[0].requires.features).toEqual(['shader-f16']);
    expect((await readdir(artifact)).sort()).toEqual(['fp32', 'ir', 'kernels', 'manifest.json', 'weights.bin']);
    expect((await readdir(join(artifact, 'fp32'))).sort()).toEqual(['ir', 'kernels', 'weights.bin']);

    const inspect = await kiln('inspect', artifact);
    expect(inspect.stdout).toMatch(/^variants {2}fp16, then fp32 \(a runtime loads the first its device can run\)$/m);
    expect(inspect.stdout).toMatch(/^\[variant 0: fp16, needs shader-f16\]$/m);
    expect(inspect.stdout).toMatch(/^\[variant 1: fp32, needs no optional feature\]$/m);
    expect(inspect.stdout).toMatch(/^ {2}fp32\/weights\.bin: 407088 bytes/m);
  });

  it('run ARTIFACT says which variant the device got; --precision picks one; both agree within 1e-2', async (ctx) => {
    if (compiled.code !== 0) ctx.skip('no shader-f16 here to compile an f16 artifact');
    const [o16, o32] = [join(dir, 'out16'), join(dir, 'out32')];
    const auto = await kiln('run', artifact, '--iterations', '0', '--save-outputs', o16);
    expect(auto.code, auto.stderr).toBe(0);
    // Compiled here, so this adapter has shader-f16 and gets the preferred variant.
    expect(auto.stdout).toMatch(/^precision: fp16 \(the artifact's first choice; it also has fp32\)$/m);
    // The f16 MLP is two kernels too: the first matmul reads the f32 input and converts it as it loads.
    expect(auto.stdout).toMatch(/^kernels: 2 distinct, 2 dispatches per run$/m);
    const f32 = await kiln('run', artifact, '--precision', 'fp32', '--iterations', '0', '--save-outputs', o32, '--compare', 'cpu');
    expect(f32.code, f32.stderr).toBe(0);
    expect(f32.stdout).toMatch(/^precision: fp32 \(asked for; the artifact has fp16, fp32\)$/m);
    expect(f32.stdout).toMatch(/^kernels: 2 distinct, 2 dispatches per run$/m);
    expect(Number(/max abs diff vs cpu \(y\): ([\d.e+-]+)/.exec(f32.stdout)![1])).toBeLessThan(1e-5);
    const y16 = Array.from(readNpy(await readFile(join(o16, 'y.npy')), 'y16').data);
    const y32 = Array.from(readNpy(await readFile(join(o32, 'y.npy')), 'y32').data);
    const scale = Math.max(...y32.map(Math.abs));
    const err = Math.max(...y16.map((v, i) => Math.abs(v - y32[i]!))) / scale;
    expect(err).toBeLessThan(1e-2);
    expect(err).toBeGreaterThan(0);
  });

  it('auto says which precision it picked and why; fp16 I/O runs a model with f16 inputs and outputs', async () => {
    const auto = await kiln('compile', MLP, '--precision', 'auto');
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stdout).toMatch(/^precision: fp(16|32) \(auto: .*(shader-f16|software adapter|storage binding limit|no WebGPU adapter).*\)$/m);
    const io = await kiln('run', MLP, '--precision', 'fp16', '--io-precision', 'fp16', '--iterations', '0', '--compare', 'cpu');
    if (io.code !== 0) {
      expect(io.stderr).toMatch(/lacks the shader-f16 feature/);
      return;
    }
    expect(io.stdout).toMatch(/^precision: fp16 \(asked for; inputs and outputs in f16\)$/m);
    expect(io.stdout).toMatch(/^y: f16\[8,10\] /m);
    expect(Number(/max abs diff vs cpu \(y\): ([\d.e+-]+)/.exec(io.stdout)![1])).toBeLessThan(1e-2);
    // Checked against the f16 graph on the CPU; f16's own error against the f32 model is reported beside.
    expect(io.stdout).toMatch(/^fp16: max abs diff vs the f32 model on cpu \(y\): \S+ \(the precision error; not checked\)$/m);
  });

  it('gives one-line reasons for bad precision flags, before loading anything', async () => {
    const bad = await kiln('compile', MLP, '--precision', 'fp64');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^kiln compile: --precision takes fp32, fp16 or auto, got 'fp64'$/m);
    expect(bad.stderr).not.toMatch(/^load/m);
    expect((await kiln('run', MLP, '--io-precision', 'fp16')).stderr).toMatch(/--io-precision fp16 applies to an f16 compile: add --precision fp16 \(or auto\)/);
    expect((await kiln('compile', MLP, '--io-precision', 'f16', '--precision', 'fp16')).stderr).toMatch(/--io-precision takes fp32 or fp16, got 'f16'/);
    expect((await kiln('compile', MLP, '--no-fallback', '--quiet')).stderr).toMatch(/--no-fallback applies when writing an f16 artifact/);
  });
});
