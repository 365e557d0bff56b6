import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { eagerCacheStats } from '../../src/frontend/torch/eager-ops.js';
import { EagerRunner } from '../../src/runtime/eager.js';
import { expectClose } from '../helpers/compare.js';
import { useDefaultGpu } from './default-gpu.js';

// Eager ops compile one Program per form of shapes (rank, dtypes, which extents are 1, ...), not
// per concrete shape: each run binds the sizes and writes its uniform words, queued in order.

type Counts = Record<keyof typeof eagerCacheStats, number>;

describe('eager programs serve every shape of one form', () => {
  const gpu = useDefaultGpu();

  /** What `f` generated and created, and whether every result equals the CPU reference. */
  async function across(shapes: readonly (readonly number[][])[], f: (...xs: kiln.Tensor[]) => kiln.Tensor) {
    const runner = EagerRunner.for(gpu());
    const before = { cache: { ...eagerCacheStats }, runner: runner.stats, pipelines: gpu().counters.computePipelines };
    const cases = shapes.map((operands) => operands.map((s) => kiln.randn(s)));
    // Every run is issued before any is read back: each run's sizes must reach its own dispatches.
    const onGpu = await Promise.all(cases.map(async (xs) => f(...(await Promise.all(xs.map((x) => x.to('webgpu')))))));
    for (const [i, xs] of cases.entries()) {
      const got = await onGpu[i]!.to('cpu');
      expectClose(got.data, f(...xs).data, 1e-5, 1e-4);
    }
    const cache = Object.fromEntries(Object.entries(eagerCacheStats).map(([k, v]) => [k, v - before.cache[k as keyof Counts]])) as Counts;
    return { ...cache, pipelinesCreated: runner.stats.pipelinesCreated - before.runner.pipelinesCreated, devicePipelines: gpu().counters.computePipelines - before.pipelines };
  }

  it('an elementwise op at many shapes of one rank: one program, one pipeline, the CPU\'s answers', async () => {
    const shapes = [[3, 5], [7, 6], [1000, 3], [2, 9], [64, 128], [5, 5]].map(([a, b]) => [[a!, b!], [1, b!]]);
    const n = await across(shapes, (x, y) => x.add(y));
    expect([n.programsGenerated, n.symbolicPrograms, n.fixedPrograms, n.symbolicRuns]).toEqual([1, 1, 0, shapes.length]);
    expect([n.pipelinesCreated, n.devicePipelines]).toEqual([1, 1]);
    // Another broadcast (an extent of 1 where it was not) is another form.
    const m = await across([[[4, 3], [4, 1]], [[9, 2], [9, 1]]], (x, y) => x.mul(y));
    expect(m.programsGenerated).toBe(1);
  });

  it('matmul at many shapes: one program per form, B\'s column count by multiple of 4 or not', async () => {
    const dims = [[3, 5, 8], [17, 2, 4], [6, 33, 12], [2, 3, 5], [9, 9, 7], [1, 4, 3]];
    const n = await across(dims.map(([m, k, c]) => [[m!, k!], [k!, c!]]), (a, b) => a.matmul(b));
    // [1,4]x[4,3] has an extent of 1: a form of its own.
    expect([n.programsGenerated, n.symbolicPrograms, n.fixedPrograms]).toEqual([3, 3, 0]);
    const batched = await across([[[2, 3, 4], [2, 4, 5]], [[5, 7, 2], [5, 2, 6]], [[3, 3, 3], [3, 3, 3]]], (a, b) => a.matmul(b));
    expect(batched.programsGenerated).toBe(1);
  });

  it('transposes and concatenations at many shapes: one program each', async () => {
    const shapes = [[3, 5, 2], [7, 6, 9], [2, 300, 4], [11, 2, 3]].map((s) => [s]);
    for (const f of [(x: kiln.Tensor) => x.transpose(0, 2).mul(1), (x: kiln.Tensor) => kiln.cat([x, x.exp()], 1)]) {
      const n = await across(shapes, f);
      expect([n.programsGenerated, n.fixedPrograms, n.symbolicRuns]).toEqual([2, 0, 2 * shapes.length]); // with the mul, the exp
    }
  });

  it('reductions and softmax: one program per power-of-two class of each extent, whose kernel variant suits it', async () => {
    // [5,3000] and [7,2100] share classes (5..8, 2049..4096); [3,30] and [4,20] share (3..4, 17..32).
    const shapes = [[5, 3000], [7, 2100], [3, 30], [4, 20], [64, 2]].map((s) => [s]);
    for (const f of [(x: kiln.Tensor) => x.sum({ dim: 1 }), (x: kiln.Tensor) => x.mean({ dim: 0, keepdim: true }), (x: kiln.Tensor) => x.softmax(-1)]) {
      const n = await across(shapes, f);
      expect([n.programsGenerated, n.fixedPrograms, n.symbolicRuns]).toEqual([3, 0, shapes.length]);
    }
  });

  it('an extent past its rank\'s range is a size class of its own; empty tensors take fixed programs', async () => {
    const n = await across([[[2, 20000]], [[3, 30000]], [[2, 17000]]], (x) => x.neg());
    expect([n.programsGenerated, n.symbolicPrograms]).toEqual([1, 1]);
    const e = await across([[[0, 3]], [[0, 4]]], (x) => x.neg());
    expect([e.symbolicRuns, e.fixedRuns]).toEqual([0, 2]);
  });

  it('an op whose kernel takes fixed sizes falls back to one program per shape, refusing the form once', async () => {
    // Narrowing a dimension whose extent varies is sliced by a kernel of fixed sizes.
    const shapes = [[4, 6], [5, 7], [3, 9]].map((s) => [s]);
    const n = await across(shapes, (x) => x.narrow(1, 1, 2));
    expect([n.fixedPrograms, n.fixedRuns, n.symbolicRuns]).toEqual([3, 3, 0]);
    expect(n.formsRefused).toBe(2); // the column form and the equal-extents form, once each
    const again = await across([[[8, 5]]], (x) => x.narrow(1, 1, 2));
    expect(again.formsRefused).toBe(0);
  });
});
