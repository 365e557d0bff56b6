// ONNX If and Loop decided by their inputs, through the built binary as users run them: an If
// whose condition is an input compiles to an artifact without --input-value, which runs both
// ways; `kiln run` runs a Loop whose trip count is an input without freezing it.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { kiln } from '../helpers/kiln-cli.js';
import { attr, buildModel, node, OnnxType } from '../frontend/onnx/onnx-builder.js';

const F = OnnxType.FLOAT;
const BOOL = OnnxType.BOOL;
const I64 = OnnxType.INT64;
const vi = (name: string, type: number, dims: number[]) => ({ name, type: { tensor_type: { elem_type: type, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } });

// z = c ? -x : |x|
const IF_MODEL = buildModel({
  opset: 16, inputs: [{ name: 'c', type: BOOL, dims: [] }, { name: 'x', dims: [3] }], outputs: [{ name: 'z' }],
  nodes: [node('If', ['c'], ['z'], {
    then_branch: attr.g({ name: 't', node: [{ op_type: 'Neg', input: ['x'], output: ['t'] }], output: [vi('t', F, [3])] }),
    else_branch: attr.g({ name: 'e', node: [{ op_type: 'Abs', input: ['x'], output: ['e'] }], output: [vi('e', F, [3])] }),
  })],
});

// y = y0 * 2^M, ys = each step's y.
const LOOP_MODEL = buildModel({
  opset: 16, inputs: [{ name: 'M', type: I64, dims: [] }, { name: 'y0', dims: [2] }], outputs: [{ name: 'y' }, { name: 'ys' }],
  nodes: [node('Loop', ['M', '', 'y0'], ['y', 'ys'], {
    body: attr.g({
      name: 'body',
      node: [{ op_type: 'Add', input: ['yi', 'yi'], output: ['yo'] }, { op_type: 'Identity', input: ['ci'], output: ['co'] }, { op_type: 'Identity', input: ['yo'], output: ['so'] }],
      input: [vi('i', I64, []), vi('ci', BOOL, []), vi('yi', F, [2])], output: [vi('co', BOOL, []), vi('yo', F, [2]), vi('so', F, [2])],
    }),
  })],
});

let dir: string;
const at = (f: string) => join(dir, f);
const saved = async (folder: string, name: string) => {
  const t = readNpy(await readFile(join(folder, `${name}.npy`)), name);
  return { shape: [...t.shape], values: Array.from(t.data as ArrayLike<number>) };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-cli-control-flow-'));
  await writeFile(at('if.onnx'), IF_MODEL);
  await writeFile(at('loop.onnx'), LOOP_MODEL);
  await writeFile(at('x.npy'), writeNpy(tensorData('f32', [3], [1, -2, 3])));
  await writeFile(at('c0.npy'), writeNpy(tensorData('bool', [], [0])));
  await writeFile(at('c1.npy'), writeNpy(tensorData('bool', [], [1])));
  await writeFile(at('y0.npy'), writeNpy(tensorData('f32', [2], [1, -2])));
  await writeFile(at('m3.npy'), writeNpy(tensorData('i32', [], [3])));
});

describe('control flow decided by the inputs, on the command line', () => {
  it('compile makes an artifact of an If whose condition is an input; it runs both ways', async () => {
    const art = at('if.kiln');
    const c = await kiln('compile', at('if.onnx'), '-o', art);
    expect(c.code, c.stderr).toBe(0);
    for (const [cond, want] of [['c1', [-1, 2, -3]], ['c0', [1, 2, 3]]] as const) {
      const out = at(`if-${cond}`);
      const r = await kiln('run', art, '--input', `c=${at(`${cond}.npy`)}`, '--input', `x=${at('x.npy')}`, '--iterations', '1', '--save-outputs', out);
      expect(r.code, r.stderr).toBe(0);
      expect(await saved(out, 'z')).toEqual({ shape: [3], values: want });
    }
  });

  it('run feeds a Loop its trip count at run time (no freezing)', async () => {
    const out = at('loop-out');
    const r = await kiln('run', at('loop.onnx'), '--input', `M=${at('m3.npy')}`, '--input', `y0=${at('y0.npy')}`, '--iterations', '1', '--save-outputs', out, '--compare', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/frozen|freez/i);
    expect(await saved(out, 'y')).toEqual({ shape: [2], values: [8, -16] });
    expect(await saved(out, 'ys')).toEqual({ shape: [3, 2], values: [2, -4, 4, -8, 8, -16] });
  });
});
