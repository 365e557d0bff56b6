import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln-cli.js';
import { writeNpy } from '../../src/io/npy.js';
import { tensorData } from '../../src/ir/tensor-data.js';

// The CLI is tested as users run it: the built `kiln` binary (npm test builds first).
const MLP = join(import.meta.dirname, '../../dist/examples/mlp/model.js');

describe('kiln command', () => {
  it('prints help for itself and for every command', async () => {
    const top = await kiln('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:/);
    for (const cmd of ['ir', 'run', 'compile', 'inspect']) {
      const r = await kiln(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: kiln ${cmd}`));
    }
  });

  it('rejects an unknown command and an unknown option', async () => {
    expect((await kiln('frobnicate')).stderr).toMatch(/unknown command 'frobnicate'/);
    const r = await kiln('ir', '--bogus', MLP);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--bogus/);
  });

  it('ir prints a traced model as IR text', async () => {
    const r = await kiln('ir', MLP);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^graph Sequential\(%x: f32\[8,784\] @webgpu\) -> \(f32\[8,10\] @webgpu\) \{/);
    expect(r.stdout).toMatch(/%y = add\(/);
  });

  it('ir reports a malformed IR file with line and column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-cli-'));
    const file = join(dir, 'bad.kir');
    await writeFile(file, 'graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {\n  %0 = relu(%x : f32[2] @webgpu\n  return %0\n}\n');
    const r = await kiln('ir', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2:\d+: expected/);
  });

  it('run compiles and runs on WebGPU, printing outputs, timing and the CPU difference', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-cli-'));
    const file = join(dir, 'tiny.kir');
    await writeFile(file, [
      'graph tiny(%a: f32[3,5] @webgpu, %b: f32[5,2] @webgpu) -> (f32[3,2] @webgpu) {',
      '  %0 = matmul(%a, %b) : f32[3,2] @webgpu',
      '  %1 = relu(%0) : f32[3,2] @webgpu',
      '  return %1',
      '}',
      '',
    ].join('\n'));
    const r = await kiln('run', file, '--compare', 'cpu', '--iterations', '3');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/adapter: /);
    expect(r.stdout).toMatch(/1: f32\[3,2\]/);
    expect(r.stdout).toMatch(/first run [\d.]+ ms, steady [\d.]+ ms/);
    const diff = Number(/max abs diff vs cpu \(1\): ([\d.e+-]+)/.exec(r.stdout)![1]);
    expect(diff).toBeLessThan(1e-5);
  });

  it('compiles and runs a model written in TypeScript, as is', async () => {
    const r = await kiln('run', join(import.meta.dirname, '../fixtures/tiny-model.ts'), '--compare', 'cpu', '--iterations', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/y: f32\[4,3\]/);
    expect(Number(/max abs diff vs cpu \(y\): ([\d.e+-]+)/.exec(r.stdout)![1])).toBeLessThan(1e-5);
  });

  it('run gives a data-dependent output at its actual extent, none included, and agrees with the CPU', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-cli-'));
    const file = join(dir, 'nz.kir');
    await writeFile(file, [
      'graph nz(%x: f32[2,3] @webgpu) -> (i32[2,K] @webgpu) sizes(K: [0, 6]) {',
      '  %i = nonzero(%x) {size = "K"} : i32[2,K] @webgpu',
      '  %one = const() {value = [1]} : i32[] @webgpu',
      '  %j = add(%i, %one) : i32[2,K] @webgpu',
      '  return %j',
      '}',
      '',
    ].join('\n'));
    for (const [values, shape] of [[[0, 2, 0, 0, NaN, 0], '2,2'], [[0, 0, 0, 0, 0, 0], '2,0']] as const) {
      await writeFile(join(dir, 'x.npy'), writeNpy(tensorData('f32', [2, 3], values)));
      const r = await kiln('run', file, '--input', `x=${join(dir, 'x.npy')}`, '--compare', 'cpu', '--iterations', '1');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`j: i32[${shape}]`);
      expect(r.stdout).toMatch(/max abs diff vs cpu \(j\): 0\.000e\+0/);
    }
  });
});

