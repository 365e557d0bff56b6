import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { compile } from '../../src/compiler.js';
import { Session } from '../../src/runtime/session.js';
import { validateProgram, type Program } from '../../src/runtime/program.js';
import { withState } from '../../src/frontend/train/program-state.js';
import { useGpu } from '../helpers/gpu.js';

/** y = 2 * (s + x), with s += x after every run. */
function accumulator(): Program {
  const g = new Graph('acc');
  const x = g.addInput('x', { dtype: 'f32', shape: [3], device: 'webgpu' });
  const s = g.addInput('s', { dtype: 'f32', shape: [3], device: 'webgpu' });
  const next = g.addNode('add', [s, x], {}, { names: ['next'] }).output;
  const two = g.addNode('const', [], { value: tensorData('f32', [], [2]) }).output;
  const y = g.addNode('mul', [next, two], {}, { names: ['y'] }).output;
  g.setOutputs([y, next]);
  return withState(compile(g), [{ input: 's', init: tensorData('f32', [3], [1, 2, 3]), update: 'next' }]);
}

const vec = (v: number[]) => tensorData('f32', [3], v);
const values = (t: { data: ArrayLike<number> } | undefined) => Array.from(t!.data);

describe('session state buffers', () => {
  const gpu = useGpu();

  it('withState makes an input persistent state updated from an output', () => {
    const p = accumulator();
    validateProgram(p);
    expect(p.inputs.map((t) => t.name)).toEqual(['x']);
    expect(p.outputs.map((t) => t.name)).toEqual(['y']);
    expect(p.state!.map((t) => t.name)).toEqual(['s']);
    expect(p.buffers.find((b) => b.id === p.state![0]!.buffer)!.role).toBe('state');
    expect(p.stateUpdates).toHaveLength(1);
  });

  it('keeps state on the device across runs, updated at the end of each run; reads and writes it', async () => {
    const s = await Session.create(gpu(), accumulator());
    try {
      expect(values((await s.run({ x: vec([1, 1, 1]) })).y)).toEqual([4, 6, 8]);
      expect(values((await s.run({ x: vec([1, 1, 1]) })).y)).toEqual([6, 8, 10]);
      // Without readback the run still computes and updates the state.
      expect(await s.run({ x: vec([1, 0, 0]) }, { outputs: [] })).toEqual({});
      expect(values(await s.readState('s'))).toEqual([4, 4, 5]);
      await s.writeState('s', vec([0, 0, 0]));
      expect(values((await s.run({ x: vec([1, 1, 1]) })).y)).toEqual([2, 2, 2]);
      expect(s.stats.weightUploads).toBe(2); // the constant 2 and the state's initial value, once at load
      await expect(s.readState('nope')).rejects.toThrow(/has no state tensor 'nope' \(it has 's'\)/);
      await expect(s.run({ x: vec([0, 0, 0]) }, { outputs: ['z'] })).rejects.toThrow(/has no output\(s\) 'z'/);
    } finally {
      s.destroy();
    }
  });

  it('stages inputs into two slots ahead of their runs (double buffering)', async () => {
    const s = await Session.create(gpu(), accumulator(), { inputSlots: 2 });
    try {
      const a = s.stage({ x: vec([1, 1, 1]) });
      const b = s.stage({ x: vec([10, 10, 10]) });
      expect(() => s.stage({ x: vec([0, 0, 0]) })).toThrow(/all 2 input slot\(s\) hold staged inputs not run yet/);
      const ra = s.run(a);
      // Slot a is submitted once its run starts; queued behind nothing, it may be refilled now.
      const rb = s.run(b);
      expect(values((await ra).y)).toEqual([4, 6, 8]);
      expect(values((await rb).y)).toEqual([24, 26, 28]);
      await expect(s.run(a)).rejects.toThrow(/already run/);
      const c = s.stage({ x: vec([1, 1, 1]) });
      expect(values((await s.run(c)).y)).toEqual([26, 28, 30]);
      // Unstaged runs still work next to staged ones.
      expect(values((await s.run({ x: vec([0, 0, 0]) })).y)).toEqual([26, 28, 30]);
    } finally {
      s.destroy();
    }
  });

  it('validation rejects a state update into a buffer that is not state', () => {
    const p = accumulator();
    const input = p.inputs[0]!.buffer;
    expect(() => validateProgram({ ...p, stateUpdates: [{ from: p.state![0]!.buffer, to: input }] })).toThrow(/whose role is 'input', not 'state'/);
  });
});
