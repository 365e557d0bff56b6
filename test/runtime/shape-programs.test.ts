import { describe, expect, it } from 'vitest';
import { ShapePrograms, type DynamicShapes, type FeedShapes, type ShapeSpec } from '../../src/runtime/shape-programs.js';

/** A fake program: the spec it was compiled for, serving shapes as a compiled program binds them. */
interface Fake {
  readonly spec: ShapeSpec;
}

/** Whether `spec` takes `shapes`: fixed extents equal, sizes `[STEP*]NAME<=MAX` multiples of STEP in STEP..MAX, agreeing by name. */
function takes(spec: ShapeSpec, shapes: FeedShapes): boolean {
  const sizes = new Map<string, number>();
  return Object.entries(spec).every(([input, dims]) => dims.every((d, i) => {
    const n = shapes[input]![i]!;
    if (typeof d === 'number') return d === n;
    const [, step = '1', name, max] = /^(?:(\d+)\*)?(\w+)<=(\d+)$/.exec(d)!;
    if (n < Number(step) || n > Number(max) || n % Number(step) !== 0 || (sizes.has(name!) && sizes.get(name!) !== n)) return false;
    sizes.set(name, n);
    return true;
  }));
}

function programs(inputs: { name: string; dims: (number | string)[] }[], opts: { dynamic?: DynamicShapes; refuseRanges?: boolean; needSteps?: boolean } = {}) {
  const compiled: ShapeSpec[] = [];
  const released: ShapeSpec[] = [];
  const warnings: string[] = [];
  const p = new ShapePrograms<Fake>({
    inputs,
    compile: async (spec) => {
      const ranged = Object.values(spec).some((dims) => dims.some((d) => typeof d === 'string'));
      if (ranged && opts.refuseRanges) throw new Error("'resize' takes fixed sizes only");
      if (opts.needSteps && Object.values(spec).some((dims) => dims.some((d) => typeof d === 'string' && !d.startsWith('32*')))) throw new Error('shapes do not broadcast');
      // A wrong extent for a fixed dimension fails to compile, as the importer refuses it.
      const declared = (name: string, i: number) => inputs.find((x) => x.name === name)!.dims[i]!;
      if (Object.entries(spec).some(([name, dims]) => dims.some((d, i) => typeof declared(name, i) === 'number' && declared(name, i) as number >= 0 && d !== declared(name, i)))) {
        throw new Error('dimension fixed by the model');
      }
      compiled.push(spec);
      return { spec };
    },
    serves: (f, shapes) => takes(f.spec, shapes),
    release: (f) => released.push(f.spec),
    ...(opts.dynamic !== undefined ? { dynamic: opts.dynamic } : {}),
    warn: (m) => warnings.push(m),
  });
  const run = async (shapes: FeedShapes) => (await p.programFor(shapes)).spec;
  return { p, run, compiled, released, warnings };
}

const REC = [{ name: 'x', dims: ['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1'] }];

describe('ShapePrograms', () => {
  it('compiles the first shapes fixed, then the extents that vary over ranges up to a power of two, growing past them', async () => {
    const { run, compiled } = programs(REC);
    expect(await run({ x: [1, 3, 48, 320] })).toEqual({ x: [1, 3, 48, 320] });
    // The batch has not varied: it stays fixed; the width becomes a size named after the model's symbol.
    expect(await run({ x: [1, 3, 48, 100] })).toEqual({ x: [1, 3, 48, 'p2o_DynamicDimension_1<=512'] });
    expect(await run({ x: [1, 3, 48, 320] })).toEqual({ x: [1, 3, 48, 320] });
    expect(await run({ x: [1, 3, 48, 512] })).toEqual({ x: [1, 3, 48, 'p2o_DynamicDimension_1<=512'] });
    expect(await run({ x: [1, 3, 48, 7] })).toEqual({ x: [1, 3, 48, 'p2o_DynamicDimension_1<=512'] });
    expect(compiled).toHaveLength(2);
    expect(await run({ x: [1, 3, 48, 513] })).toEqual({ x: [1, 3, 48, 'p2o_DynamicDimension_1<=1024'] });
    // A batch of 2 makes the batch vary too; the width keeps its largest range.
    expect(await run({ x: [2, 3, 48, 40] })).toEqual({ x: ['p2o_DynamicDimension_0<=2', 3, 48, 'p2o_DynamicDimension_1<=1024'] });
    expect(await run({ x: [1, 3, 48, 1000] })).toEqual({ x: [1, 3, 48, 'p2o_DynamicDimension_1<=1024'] });
    expect(compiled).toHaveLength(4);
  });

  it('gives dimensions sharing a symbol one size while their extents agree, and each its own once they do not', async () => {
    const inputs = [{ name: 'a', dims: ['batch', 8] }, { name: 'b', dims: ['batch', -1] }];
    const { run } = programs(inputs);
    await run({ a: [2, 8], b: [2, 5] });
    expect(await run({ a: [3, 8], b: [3, 5] })).toEqual({ a: ['batch<=4', 8], b: ['batch<=4', 5] });
    // An unnamed open dimension (-1) is named after its input and position.
    expect(await run({ a: [3, 8], b: [3, 6] })).toEqual({ a: ['batch<=4', 8], b: ['batch<=4', 'b_1<=8'] });
    expect(await run({ a: [5, 8], b: [6, 6] })).toEqual({ a: ['batch<=8', 8], b: ['batch_2<=8', 'b_1<=8'] });
  });

  it('compiles every open dimension over a range from the first run with dynamic: true, and once per set of shapes with false', async () => {
    const eager = programs(REC, { dynamic: true });
    expect(await eager.run({ x: [1, 3, 48, 100] })).toEqual({ x: ['p2o_DynamicDimension_0<=1', 3, 48, 'p2o_DynamicDimension_1<=128'] });
    const fixed = programs(REC, { dynamic: false });
    for (const w of [100, 120, 100]) expect(await fixed.run({ x: [1, 3, 48, w] })).toEqual({ x: [1, 3, 48, w] });
    expect(fixed.compiled).toHaveLength(2);
  });

  it('falls back to one program per set of shapes when the kernels refuse ranges, warning once', async () => {
    const { run, compiled, warnings } = programs(REC, { refuseRanges: true });
    for (const w of [320, 100, 200, 100]) expect(await run({ x: [1, 3, 48, w] })).toEqual({ x: [1, 3, 48, w] });
    expect(compiled).toHaveLength(3);
    expect(warnings).toEqual(["kiln: the model is compiled once per set of input shapes where its kernels cannot take the sizes that vary: 'resize' takes fixed sizes only"]);
  });

  it('where ranges over every extent that has varied are refused, compiles the extents that change from run to run alone over ranges', async () => {
    // A decoder: its prompt and its one-token steps differ in sequence length S, which its kernels
    // cannot take varying; the steps differ only in the cache length P.
    const inputs = [{ name: 'x', dims: [1, 'S', 8] }, { name: 'past', dims: [1, 'P', 8] }];
    const compiled: ShapeSpec[] = [];
    const p = new ShapePrograms<Fake>({
      inputs,
      compile: async (spec) => {
        if (typeof spec['x']![1] === 'string') throw new Error('S must not vary');
        compiled.push(spec);
        return { spec };
      },
      serves: (f, shapes) => takes(f.spec, shapes),
      release: () => undefined,
      warn: () => undefined,
    });
    const run = async (shapes: FeedShapes) => (await p.programFor(shapes)).spec;
    expect(await run({ x: [1, 5, 8], past: [1, 0, 8] })).toEqual({ x: [1, 5, 8], past: [1, 0, 8] });
    // S and P varied: refused, compiled fixed.
    expect(await run({ x: [1, 1, 8], past: [1, 5, 8] })).toEqual({ x: [1, 1, 8], past: [1, 5, 8] });
    // Only P changed from the run before: P over a range, S fixed.
    expect(await run({ x: [1, 1, 8], past: [1, 6, 8] })).toEqual({ x: [1, 1, 8], past: [1, 'P<=8', 8] });
    expect(await run({ x: [1, 1, 8], past: [1, 7, 8] })).toEqual({ x: [1, 1, 8], past: [1, 'P<=8', 8] });
    expect(await run({ x: [1, 1, 8], past: [1, 9, 8] })).toEqual({ x: [1, 1, 8], past: [1, 'P<=16', 8] });
    expect(compiled).toHaveLength(4);
  });

  it('tries sizes as multiples of the largest power of two up to 32 dividing every extent seen when plain sizes fail, and starts there after', async () => {
    const DET = [{ name: 'x', dims: [1, 3, 'H', 'W'] }];
    const { run, compiled, warnings } = programs(DET, { needSteps: true });
    await run({ x: [1, 3, 640, 640] });
    expect(await run({ x: [1, 3, 640, 480] })).toEqual({ x: [1, 3, 640, '32*W<=1024'] });
    expect(await run({ x: [1, 3, 640, 96] })).toEqual({ x: [1, 3, 640, '32*W<=1024'] });
    expect(await run({ x: [1, 3, 320, 480] })).toEqual({ x: [1, 3, '32*H<=1024', '32*W<=1024'] });
    expect(compiled).toHaveLength(3);
    // Not a multiple of 32: the step the extents seen share is 4, whose program fails too; compiled fixed.
    expect(await run({ x: [1, 3, 320, 100] })).toEqual({ x: [1, 3, 320, 100] });
    expect(warnings).toEqual(['kiln: the model is compiled once per set of input shapes where its kernels cannot take the sizes that vary: shapes do not broadcast']);
    const { run: plain } = programs([{ name: 'x', dims: [1, 3, 'H', 'W'] }]);
    await plain({ x: [1, 3, 640, 640] });
    expect(await plain({ x: [1, 3, 640, 480] })).toEqual({ x: [1, 3, 640, 'W<=1024'] });
  });

  it('reports a wrong shape as the compiler does, and keeps ranges on for the next shapes', async () => {
    const { run, warnings } = programs(REC);
    await run({ x: [1, 3, 48, 320] });
    await expect(run({ x: [1, 3, 40, 100] })).rejects.toThrow('dimension fixed by the model');
    expect(warnings).toEqual([]);
    expect(await run({ x: [1, 3, 48, 100] })).toEqual({ x: [1, 3, 48, 'p2o_DynamicDimension_1<=512'] });
  });

  it('releases a program over ranges that does not serve the shapes it was made for, and compiles them fixed', async () => {
    const compiledSpecs: ShapeSpec[] = [];
    const released: ShapeSpec[] = [];
    const warnings: string[] = [];
    const p = new ShapePrograms<Fake>({
      inputs: REC,
      compile: async (spec) => (compiledSpecs.push(spec), { spec }),
      serves: () => false,
      release: (f) => released.push(f.spec),
      warn: (m) => warnings.push(m),
    });
    await p.programFor({ x: [1, 3, 48, 320] });
    expect((await p.programFor({ x: [1, 3, 48, 100] })).spec).toEqual({ x: [1, 3, 48, 100] });
    expect(released).toEqual([{ x: [1, 3, 48, 'p2o_DynamicDimension_1<=512'] }]);
    expect(warnings).toHaveLength(1);
    expect((await Promise.all(p.all())).map((f) => f.spec)).toEqual([{ x: [1, 3, 48, 320] }, { x: [1, 3, 48, 100] }]);
  });

  it('keeps at most maxFixedPrograms fixed-shape programs, releasing the least recently used one not running', async () => {
    const released: ShapeSpec[] = [];
    let compiles = 0;
    const p = new ShapePrograms<Fake>({
      inputs: REC, dynamic: false, maxFixedPrograms: 2,
      compile: async (spec) => (compiles++, { spec }),
      serves: (f, shapes) => takes(f.spec, shapes),
      release: (f) => released.push(f.spec),
    });
    const x = (w: number) => ({ x: [1, 3, 48, w] });
    const run = (w: number) => p.run(x(w), async (f) => f.spec);
    await run(10);
    await run(20);
    await run(10); // 10 is now the most recently used
    await run(30);
    expect(released).toEqual([x(20)]);
    // A program running is kept past the limit, and released once it is done and the oldest.
    let finish!: () => void;
    const long = p.run(x(10), () => new Promise<ShapeSpec>((resolve) => { finish = () => resolve(x(10)); }));
    await new Promise((r) => setTimeout(r, 0));
    await run(40);
    await run(50);
    // 10 was the oldest when 50 came, but running: 40 went instead.
    expect(released).toEqual([x(20), x(30), x(40)]);
    finish();
    await long;
    // A released program compiles again when its shapes come back; 10 is the oldest now.
    const before = compiles;
    await run(20);
    expect(compiles).toBe(before + 1);
    expect(released).toEqual([x(20), x(30), x(40), x(10)]);
  });

  it('takes a spec over ranges given before any run, and serves shapes within it', async () => {
    const { p, run, compiled } = programs(REC);
    await p.compileSpec({ x: [1, 3, 48, 'W<=640'] });
    expect(await run({ x: [1, 3, 48, 600] })).toEqual({ x: [1, 3, 48, 'W<=640'] });
    expect(compiled).toHaveLength(1);
  });
});
