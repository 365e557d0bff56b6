// `kiln run` on a model with string inputs and outputs: .npy unicode arrays in and out, the
// string ops in a CPU segment beside a WebGPU one. Through the built binary, as users run it.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { stringsOf, stringTensor, tensorData } from '../../src/ir/tensor-data.js';
import { kiln } from '../helpers/kiln-cli.js';
import { attr, buildModel, node, OnnxType } from '../frontend/onnx/onnx-builder.js';

// y = x + x (StringConcat), m = x matches 'a.*', w = Relu(v): a string segment and a GPU one.
const MODEL = buildModel({
  opset: 20,
  inputs: [{ name: 'x', type: OnnxType.STRING, dims: [3] }, { name: 'v', dims: [3] }],
  outputs: [{ name: 'y', type: OnnxType.STRING }, { name: 'm', type: OnnxType.BOOL }, { name: 'w' }],
  nodes: [node('StringConcat', ['x', 'x'], ['y']), node('RegexFullMatch', ['x'], ['m'], { pattern: attr.s('a.*') }), node('Relu', ['v'], ['w'])],
});

let dir: string;
const at = (f: string) => join(dir, f);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-cli-strings-'));
  await writeFile(at('model.onnx'), MODEL);
  await writeFile(at('x.npy'), writeNpy(stringTensor([3], ['ab', 'ü€😀', ''])));
  await writeFile(at('v.npy'), writeNpy(tensorData('f32', [3], [-1, 2, 3])));
});

describe('kiln run with string tensors', () => {
  it('reads a string .npy input, runs the string ops on the CPU, saves string outputs as .npy', async () => {
    const r = await kiln('run', at('model.onnx'), '--input', `x=${at('x.npy')}`, '--input', `v=${at('v.npy')}`, '--save-outputs', at('out'), '--iterations', '0', '--compare', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/segments: 2 \(1 on the CPU\)/);
    expect(r.stdout).toMatch(/y: string\[3\] \["abab", "ü€😀ü€😀", ""\]/);
    expect(r.stdout).toMatch(/max abs diff vs cpu \(y\): 0\.000e\+0/);
    const y = readNpy(await readFile(at('out/y.npy')), 'y.npy');
    expect({ dtype: y.dtype, values: stringsOf(y) }).toEqual({ dtype: 'string', values: ['abab', 'ü€😀ü€😀', ''] });
    expect(Array.from(readNpy(await readFile(at('out/m.npy')), 'm.npy').data)).toEqual([1, 0, 0]);
    expect(Array.from(readNpy(await readFile(at('out/w.npy')), 'w.npy').data)).toEqual([0, 2, 3]);
  });

  it('compiles to an artifact whose string segment runs from it', async () => {
    const c = await kiln('compile', at('model.onnx'), '-o', at('art'));
    expect(c.code, c.stderr).toBe(0);
    const r = await kiln('run', at('art'), '--input', `x=${at('x.npy')}`, '--input', `v=${at('v.npy')}`, '--iterations', '0');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/y: string\[3\] \["abab", "ü€😀ü€😀", ""\]/);
    expect(r.stdout).toMatch(/w: f32\[3\] \[0, 2, 3\]/);
  });

  it('a number .npy given for a string input is refused with both types', async () => {
    const r = await kiln('run', at('model.onnx'), '--input', `x=${at('v.npy')}`, '--input', `v=${at('v.npy')}`, '--iterations', '0');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/input 'x' is string\[3\] but .*v\.npy holds f32\[3\]/);
  });
});
