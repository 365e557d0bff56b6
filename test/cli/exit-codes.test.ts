import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/io/npy.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { buildModel, node } from '../frontend/onnx/onnx-builder.js';
import { kiln } from '../helpers/kiln-cli.js';

// How the command line fails, as a script sees it: exit code 2 for a usage error, 1 for any other
// failure, and on stderr one paragraph that says what went wrong: never a stack.

const TINY_TS = join(import.meta.dirname, '../fixtures/tiny-model.ts');
const TINY_KIR = [
  'graph tiny(%a: f32[3,5] @webgpu, %b: f32[5,2] @webgpu) -> (f32[3,2] @webgpu) {',
  '  %0 = matmul(%a, %b) : f32[3,2] @webgpu',
  '  return %0',
  '}',
  '',
].join('\n');

/** A line of a JavaScript stack trace (`    at f (file.js:1:2)`). */
const STACK_LINE = /^\s+at .*:\d+:\d+\)?$/m;

interface Case {
  readonly name: string;
  readonly args: (dir: string) => string[];
  readonly code: number;
  readonly stderr: RegExp;
}

const CASES: readonly Case[] = [
  { name: 'missing .kir file', args: (d) => ['ir', join(d, 'missing.kir')], code: 1, stderr: /^kiln ir: cannot read kiln IR file '.*missing\.kir': no such file$/m },
  { name: 'missing .onnx file', args: (d) => ['compile', join(d, 'missing.onnx')], code: 1, stderr: /^kiln compile: cannot read ONNX model '.*missing\.onnx': no such file$/m },
  { name: 'missing .ts module', args: (d) => ['ir', join(d, 'missing.ts')], code: 1, stderr: /^kiln ir: cannot read TypeScript model module '.*missing\.ts': no such file$/m },
  { name: 'missing .js module', args: (d) => ['run', join(d, 'missing.js')], code: 1, stderr: /^kiln run: cannot read JavaScript model module '.*missing\.js': no such file$/m },
  { name: 'missing artifact', args: (d) => ['inspect', join(d, 'missing.kiln')], code: 1, stderr: /^kiln inspect: .*missing\.kiln is not a kiln artifact/m },
  { name: 'malformed .ts module', args: (d) => ['ir', join(d, 'bad.ts')], code: 1, stderr: /^kiln ir: cannot load TypeScript model module '.*bad\.ts': .*\n.*bad\.ts:2:\d+: ERROR: /m },
  { name: 'malformed .js module', args: (d) => ['ir', join(d, 'bad.js')], code: 1, stderr: /^kiln ir: cannot load JavaScript model module '.*bad\.js': .*bad\.js:1\n[^]*SyntaxError: Unexpected token/m },
  { name: 'unknown flag', args: () => ['ir', '--bogus', TINY_TS], code: 2, stderr: /^kiln ir: unknown option --bogus\nRun 'kiln help ir' for usage\.$/m },
  { name: 'flag without its value', args: () => ['run', TINY_TS, '--seed'], code: 2, stderr: /^kiln run: option --seed needs a value$/m },
  { name: 'bad flag value', args: () => ['ir', TINY_TS, '--format', 'png'], code: 2, stderr: /^kiln ir: --format takes text, dot, svg or wgsl, got 'png'$/m },
  { name: 'tolerance without --compare', args: () => ['run', TINY_TS, '--atol', '1e-3'], code: 2, stderr: /^kiln run: --atol is the tolerance of --compare cpu/m },
  { name: 'missing MODEL', args: () => ['compile'], code: 2, stderr: /^kiln compile: kiln compile takes one MODEL, got 0$/m },
  { name: 'unknown command', args: () => ['frobnicate'], code: 2, stderr: /^kiln: unknown command 'frobnicate'/m },
  { name: 'unsupported ONNX op', args: (d) => ['compile', join(d, 'unsupported.onnx')], code: 1, stderr: /^kiln compile: the model uses 1 op type kiln does not support:\n\s+FrobnicateOp/m },
  { name: 'wrong input shape', args: (d) => ['run', join(d, 'tiny.kir'), '--input', `a=${join(d, 'a-wrong.npy')}`], code: 1, stderr: /^kiln run: .*'a'.*f32\[3,5\].*f32\[2,2\]/m },
  { name: 'bad --timeout', args: (d) => ['run', join(d, 'tiny.kir'), '--timeout', 'soon'], code: 2, stderr: /^kiln run: --timeout takes seconds, a non-negative number \(0: no deadline\), got 'soon'$/m },
  // A deadline no run can meet: the message says how to give a longer one.
  { name: 'a run past --timeout', args: (d) => ['run', join(d, 'tiny.kir'), '--timeout', '0.000001'], code: 1, stderr: /^kiln run: program 'tiny[^']*': the run did not finish within 0\.001 ms .*; kiln run --timeout SECONDS sets a longer deadline$/m },
  { name: '--compare outside tolerance', args: () => ['run', TINY_TS, '--compare', 'cpu', '--atol', '0', '--rtol', '0', '--iterations', '0'], code: 1, stderr: /^kiln run: --compare cpu: 'y' \(\d+ of 12 elements\) outside atol 0 \+ rtol 0$/m },
];

describe('kiln exit codes and messages', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-exit-'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(join(dir, 'bad.ts'), 'export const model = 1;\nconst x: number = ;\n');
    await writeFile(join(dir, 'bad.js'), 'export const model = 1 +;\n');
    await writeFile(join(dir, 'tiny.kir'), TINY_KIR);
    await writeFile(join(dir, 'a-wrong.npy'), writeNpy(tensorData('f32', [2, 2], [1, 2, 3, 4])));
    await writeFile(join(dir, 'unsupported.onnx'), buildModel({
      inputs: [{ name: 'x', type: 1, dims: [2] }],
      outputs: [{ name: 'y', type: 1, dims: [2] }],
      nodes: [node('FrobnicateOp', ['x'], ['y'])],
    }));
  });

  for (const c of CASES) {
    it(`${c.name}: exit ${c.code}, one paragraph, no stack`, async () => {
      const r = await kiln(...c.args(dir));
      expect(r.stderr).toMatch(c.stderr);
      expect(r.stderr).not.toMatch(STACK_LINE);
      expect(r.code, r.stderr).toBe(c.code);
    });
  }

  it('--debug keeps the stack', async () => {
    const r = await kiln('ir', join(dir, 'tiny.kir'), '--inline-limit', 'x', '--debug');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(STACK_LINE);
  });

  it('--compare inside tolerance exits 0 and says so', async () => {
    const r = await kiln('run', TINY_TS, '--compare', 'cpu', '--iterations', '0');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/max abs diff vs cpu \(y\): [\d.e+-]+, within atol 0\.0001 \+ rtol 0\.0001/);
  });

  it('compile --quiet prints nothing on success, not even Dawn\'s adapter warnings', async () => {
    const r = await kiln('compile', TINY_TS, '--quiet', '-o', join(dir, 'tiny.kiln'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    // Each kernel file opens with a comment saying which kernel it is and what it computes.
    const files = (await readdir(join(dir, 'tiny.kiln', 'kernels'))).sort();
    expect(files.length).toBeGreaterThan(0);
    for (const [i, f] of files.entries()) {
      expect(await readFile(join(dir, 'tiny.kiln', 'kernels', f), 'utf8')).toMatch(new RegExp(`^// kernel #${i} \\S+\n// dispatched \\dx per run, for: .+ -> %`));
    }
  });

  it('--version and help CMD', async () => {
    const v = await kiln('--version');
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^kiln \d+\.\d+\.\d+\n$/);
    const h = await kiln('help', 'compile');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage: kiln compile MODEL/);
  });
});

describe('kiln run ARTIFACT --compare cpu with an artifact whose kept IR does not fit it', () => {
  it('a missing ir/final.kir, and one whose output names differ, each fail with one paragraph', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-compare-'));
    const art = join(dir, 'tiny.kiln');
    expect((await kiln('compile', TINY_TS, '--quiet', '-o', art)).code).toBe(0);
    const finalIr = join(art, 'ir', 'final.kir');
    const text = await readFile(finalIr, 'utf8');
    await writeFile(finalIr, text.replaceAll('%y', '%renamed'));
    let r = await kiln('run', art, '--compare', 'cpu', '--iterations', '0');
    expect(r.stderr).toMatch(/^kiln run: --compare cpu: the reference graph has no output 'y' \(it returns 'renamed'\): it is not the graph this program was compiled from$/m);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.code).toBe(1);
    await rm(finalIr);
    r = await kiln('run', art, '--compare', 'cpu', '--iterations', '0');
    expect(r.stderr).toMatch(/^kiln run: .*tiny\.kiln: the manifest lists ir\/final\.kir for the CPU reference, but the file is missing/m);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.code).toBe(1);
  });
});
