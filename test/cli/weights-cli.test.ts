import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kiln, repoPath, type CliResult } from '../helpers/kiln-cli.js';

// --weights int8 as users run it: compile to an artifact, inspect it, run it against the CPU reference.
const MLP = repoPath('dist/examples/mlp/model.js');

describe('kiln compile --weights int8', () => {
  let dir: string;
  let artifact: string;
  let compiled: CliResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-cli-int8-'));
    artifact = join(dir, 'mlp8.kiln');
    compiled = await kiln('compile', MLP, '-o', artifact, '--weights', 'int8', '--stats');
  });

  it('stores the two weight matrices as int8, says so, and the artifact takes about a quarter of the bytes', async () => {
    expect(compiled.code).toBe(0);
    // 784x128 + 128x10 values, a byte each; f16 scales for 128 + 10 channels, two a word.
    expect(compiled.stderr).toMatch(/quantize-weights: 2 weight\(s\) stored as int8: 406528 -> 101908 bytes$/m);
    // Plus the two f32 biases (138 values): 100.1 KiB against 397.5 KiB in f32.
    expect(compiled.stdout).toMatch(/^weights: +100\.1 KiB$/m);
    const inspect = await kiln('inspect', artifact);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/^ {2}int8 +99\.3 KiB in 2 weights stored as int8 \(\+ 276 B of per-channel scales\), dequantized in the kernels$/m);
  });

  it('runs from the artifact and agrees with the CPU reference of the quantized graph', async () => {
    const run = await kiln('run', artifact, '--random-inputs', '--seed', '3', '--compare', 'cpu');
    expect(run.stderr + run.stdout).toMatch(/max abs diff vs cpu .*within atol/);
    expect(run.code).toBe(0);
  });

  it('runs the model with int8 weights against the CPU reference of the same weights, and reports the quantization error beside', async () => {
    const run = await kiln('run', MLP, '--weights', 'int8', '--random-inputs', '--seed', '3', '--compare', 'cpu');
    expect(run.stdout).toMatch(/^max abs diff vs cpu \(\w+\): \S+, within atol/m);
    // Against the float weights the outputs differ by far more than the tolerance: reported, not checked.
    const error = Number(/^int8 weights: max abs diff vs the float weights on cpu \(\w+\): (\S+) \(the quantization error; not checked\)$/m.exec(run.stdout)?.[1]);
    expect(error).toBeGreaterThan(1e-4);
    expect(run.code).toBe(0);
  });

  it('refuses an unknown storage', async () => {
    const bad = await kiln('compile', MLP, '--weights', 'int2');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--weights takes float, int8 or int4, got 'int2'/);
  });
});

describe('kiln compile --weights int4', () => {
  it('stores the two weight matrices as 4-bit blocks, says so, and runs against the CPU reference of the same weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-cli-int4-'));
    const artifact = join(dir, 'mlp4.kiln');
    const compiled = await kiln('compile', MLP, '-o', artifact, '--weights', 'int4', '--stats');
    expect(compiled.code).toBe(0);
    // 784x128 + 128x10 values, half a byte each (50,816 bytes); an f32 scale and a 4-bit zero point
    // for each of the 25 x 128 + 4 x 10 blocks of 32 rows of a column (14,580 bytes).
    expect(compiled.stderr).toMatch(/quantize-weights: 2 weight\(s\) stored as 4-bit blocks: 406528 -> 65396 bytes$/m);
    const inspect = await kiln('inspect', artifact);
    expect(inspect.stdout).toMatch(/^ {2}blockwise +49\.6 KiB in 2 weights stored as 2- to 8-bit codes \(\+ 14\.2 KiB of block scales and zero points\), dequantized in the kernels$/m);
    const run = await kiln('run', artifact, '--random-inputs', '--seed', '3', '--compare', 'cpu');
    expect(run.stdout).toMatch(/max abs diff vs cpu .*within atol/);
    expect(run.code).toBe(0);
    const model = await kiln('run', MLP, '--weights', 'int4', '--random-inputs', '--seed', '3', '--compare', 'cpu');
    expect(model.stdout).toMatch(/^int4 weights: max abs diff vs the float weights on cpu \(\w+\): \S+ \(the quantization error; not checked\)$/m);
    expect(model.code).toBe(0);
  });
});
