import { describe, expect, it } from 'vitest';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { ShapePrograms, type FeedShapes, type ShapeSpec } from '../../src/runtime/shape-programs.js';
import { ValuePrograms, type FeedValues } from '../../src/runtime/value-programs.js';

// ValuePrograms with fake programs: a model whose input `sr` decides what compiles, as Silero
// VAD's sample rate picks an If branch. The compiler's InputValuesNeededError is mimicked by name
// and `inputs`, as the runtime knows it.

interface Fake {
  readonly values: string;
  readonly spec: ShapeSpec;
}

class NeedError extends Error {
  override name = 'InputValuesNeededError';
  constructor(readonly inputs: string[]) {
    super(`the value of input '${inputs.join("', '")}' must be known when it is compiled`);
  }
}

const describeValues = (values: FeedValues) => Object.entries(values).map(([k, v]) => `${k}=${Array.from(v.data).join(',')}`).join(' ');

/** A model with inputs x [1, W] and sr []: nothing compiles without sr's value; with it, anything (ranges too, unless `rangesNeed`). */
function model(opts: { ahead?: ShapeSpec; maxValueSets?: number; firstNeedsNothing?: boolean } = {}) {
  const compiled: string[] = [];
  const released: string[] = [];
  const p = new ValuePrograms<Fake>({
    programs: (values) => new ShapePrograms<Fake>({
      inputs: [{ name: 'x', dims: [1, 'W'] }, { name: 'sr', dims: [] }],
      compile: async (spec) => {
        const ranged = Object.values(spec).some((dims) => dims.some((d) => typeof d === 'string'));
        // firstNeedsNothing: fixed shapes import without sr (both branches fit them), ranges do not.
        if (!('sr' in values) && (ranged || !opts.firstNeedsNothing)) throw new NeedError(['sr']);
        const p = { values: describeValues(values), spec };
        compiled.push(`${p.values} ${JSON.stringify(spec['x'])}`);
        return p;
      },
      serves: (f, shapes) => typeof f.spec['x']![1] === 'string' && shapes['x']![1]! <= Number(/<=(\d+)/.exec(f.spec['x']![1])![1]),
      release: (f) => released.push(`${f.values} ${JSON.stringify(f.spec['x'])}`),
    }),
    ...(opts.ahead ? { ahead: opts.ahead } : {}),
    ...(opts.maxValueSets ? { maxValueSets: opts.maxValueSets } : {}),
    release: (f) => released.push(`${f.values} ${JSON.stringify(f.spec['x'])}`),
  });
  const run = async (w: number, sr: number, feeds: Record<string, TensorData> = {}) => {
    const shapes: FeedShapes = { x: [1, w], sr: [] };
    return p.run({ x: tensorData('f32', [1, w], new Float32Array(w)), sr: tensorData('i32', [], [sr]), ...feeds }, shapes, async (f) => `${f.values} ${JSON.stringify(f.spec['x'])}`);
  };
  return { p, run, compiled, released };
}

describe('ValuePrograms', () => {
  it('learns from the compiler which inputs to compile in, and keeps a set of programs per value of them', async () => {
    const { p, run, compiled } = model();
    expect(await run(512, 16000)).toBe('sr=16000 [1,512]');
    expect(p.constantInputs).toEqual(['sr']);
    expect(await run(256, 8000)).toBe('sr=8000 [1,256]');
    expect(await run(512, 16000)).toBe('sr=16000 [1,512]');
    // Each value's shapes vary on their own: 16 kHz fed another width compiles its range.
    expect(await run(320, 16000)).toBe('sr=16000 [1,"W<=512"]');
    expect(compiled).toEqual(['sr=16000 [1,512]', 'sr=8000 [1,256]', 'sr=16000 [1,"W<=512"]']);
  });

  it('retries ranges that need a value with it, instead of taking them as refused', async () => {
    const { p, run, compiled, released } = model({ firstNeedsNothing: true });
    expect(await run(512, 16000)).toBe(' [1,512]');
    expect(p.constantInputs).toEqual([]);
    // The range compile asks for sr: learnt, the value-less program released, and the new set compiles.
    expect(await run(256, 8000)).toBe('sr=8000 [1,256]');
    expect(p.constantInputs).toEqual(['sr']);
    expect(released).toEqual([' [1,512]']);
    expect(await run(300, 8000)).toBe('sr=8000 [1,"W<=512"]');
    expect(compiled).toEqual([' [1,512]', 'sr=8000 [1,256]', 'sr=8000 [1,"W<=512"]']);
  });

  it('compiles the session\'s shapes ahead for each value set, and learns at prepare when it cannot', async () => {
    const { p, run, compiled } = model({ ahead: { x: [1, 'W<=1024'], sr: [] } });
    await p.prepare();
    expect([p.constantInputs, compiled]).toEqual([['sr'], []]);
    expect(await run(100, 8000)).toBe('sr=8000 [1,"W<=1024"]');
    expect(await run(700, 8000)).toBe('sr=8000 [1,"W<=1024"]');
    expect(compiled).toEqual(['sr=8000 [1,"W<=1024"]']);
  });

  it('releases the least recently used value set past the limit, and passes on what the feeds cannot answer', async () => {
    const { p, run, released } = model({ maxValueSets: 2 });
    await run(512, 8000);
    await run(512, 16000);
    await run(512, 8000);
    await run(512, 44100);
    expect(released).toEqual(['sr=16000 [1,512]']);
    expect(p.all()).toHaveLength(2);
    // An input the compiler needs that the feeds lack is the compiler's error to report.
    const bare = new ValuePrograms<Fake>({
      programs: () => new ShapePrograms<Fake>({ inputs: [{ name: 'x', dims: [4] }], compile: async () => { throw new NeedError(['k']); }, serves: () => false, release: () => undefined }),
      release: () => undefined,
    });
    await expect(bare.run({ x: tensorData('f32', [4], [1, 2, 3, 4]) }, { x: [4] }, async () => 0)).rejects.toThrow(/input 'k'/);
  });
});
