// ONNX inputs that decide shapes or parameters: frozen at compile time with --input-value, and
// bound by `kiln run` from its --input files. Through the built binary, as users run it.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { kiln } from '../helpers/kiln-cli.js';
import { attr, buildModel, node, OnnxType } from '../frontend/onnx/onnx-builder.js';

// y = Reshape(ReduceSum(x, axes), shape): `shape` is needed only once `axes` is known.
const MODEL = buildModel({
  opset: 13,
  inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'axes', type: OnnxType.INT64, dims: [1] }, { name: 'shape', type: OnnxType.INT64, dims: [2] }],
  outputs: [{ name: 'y' }],
  nodes: [node('ReduceSum', ['x', 'axes'], ['r'], { keepdims: attr.i(0) }, 'sum'), node('Reshape', ['r', 'shape'], ['y'], {}, 'reshape')],
});
// Summing each row of 4 of 0..23, shaped [3, 2].
const EXPECTED = [6, 22, 38, 54, 70, 86];

let dir: string;
const at = (f: string) => join(dir, f);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-cli-input-values-'));
  await writeFile(at('model.onnx'), MODEL);
  await writeFile(at('x.npy'), writeNpy(tensorData('f32', [2, 3, 4], Array.from({ length: 24 }, (_, i) => i))));
  await writeFile(at('axes.npy'), writeNpy(tensorData('i32', [1], [2])));
  await writeFile(at('shape.npy'), writeNpy(tensorData('i32', [2], [3, 2])));
});

async function savedOutput(folder: string) {
  const y = readNpy(await readFile(join(folder, 'y.npy')), 'y.npy');
  return { shape: y.shape, values: Array.from(y.data) };
}

describe('ONNX inputs that decide shapes or parameters', () => {
  it('compile says which input needs a value and how to give it; its help documents --input-value', async () => {
    const r = await kiln('compile', at('model.onnx'), '--quiet');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the value of input 'axes' \(the axes of node 'sum' \(ReduceSum\)\) must be known when it is compiled/);
    expect(r.stderr).toMatch(/--input-value NAME=/);
    expect((await kiln('compile', '--help')).stdout).toMatch(/--input-value NAME=V0,V1,\.\.\.\|NAME=FILE\.npy/);
  });

  it('compile --input-value freezes inputs (numbers or a .npy file); the artifact takes only the others', async () => {
    const out = at('frozen.kiln');
    const c = await kiln('compile', at('model.onnx'), '--input-value', 'axes=2', '--input-value', `shape=${at('shape.npy')}`, '-o', out);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/frozen \(constants, no longer inputs\): axes, shape/);
    const r = await kiln('run', out, '--input', `x=${at('x.npy')}`, '--save-outputs', at('out-artifact'), '--iterations', '0');
    expect(r.code, r.stderr).toBe(0);
    expect(await savedOutput(at('out-artifact'))).toEqual({ shape: [3, 2], values: EXPECTED });
    const extra = await kiln('run', out, '--input', `x=${at('x.npy')}`, '--input', `axes=${at('axes.npy')}`, '--iterations', '0');
    expect(extra.stderr).toMatch(/--input names 'axes', which is not an input \(the model's inputs: x: f32\[2,3,4\]\)/);
  });

  it('ir --input-value prints the graph with the frozen inputs as constants', async () => {
    const r = await kiln('ir', at('model.onnx'), '--input-value', 'axes=-1', '--input-value', 'shape=3,2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^graph test_graph\(%x: f32\[2,3,4\] @webgpu\) -> \(f32\[3,2\] @webgpu\) \{/);
  });

  it('compile refuses a malformed --input-value and a value of the wrong length', async () => {
    expect((await kiln('compile', at('model.onnx'), '--input-value', 'axes')).stderr).toMatch(/--input-value takes NAME=V0,V1,\.\.\. or NAME=FILE\.npy/);
    expect((await kiln('compile', at('model.onnx'), '--input-value', 'axes=two')).stderr).toMatch(/'two' is not a number/);
    expect((await kiln('compile', at('model.onnx'), '--input-value', 'axes=1,2')).stderr).toMatch(/input 'axes' has dimension 0 fixed at 1 by the model, but the shape given is \[2\]/);
  });

  it('run binds them from its --input files, says so on stderr, and feeds the rest', async () => {
    const r = await kiln('run', at('model.onnx'), '--input', `x=${at('x.npy')}`, '--input', `axes=${at('axes.npy')}`, '--input', `shape=${at('shape.npy')}`,
      '--save-outputs', at('out-model'), '--iterations', '0', '--compare', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/frozen: inputs 'axes', 'shape' compiled as constants from their --input files/);
    expect(await savedOutput(at('out-model'))).toEqual({ shape: [3, 2], values: EXPECTED });
    expect(r.stdout).toMatch(/max abs diff vs cpu \(y\): 0\.000e\+0/);
  });

  it('run without the file of a needed input names it', async () => {
    const r = await kiln('run', at('model.onnx'), '--input', `x=${at('x.npy')}`, '--input', `axes=${at('axes.npy')}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the value of input 'shape' \(the shape of node 'reshape' \(Reshape\)\) must be known/);
  });
});
