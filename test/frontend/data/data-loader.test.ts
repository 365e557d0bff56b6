import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';

const { DataLoader, TensorDataset, SequentialSampler, BatchSampler } = kiln.data;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Every batch of one epoch, as nested values. */
async function epoch<B>(loader: AsyncIterable<B>, values: (b: B) => unknown = (b) => b): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of loader) out.push(values(b));
  return out;
}

/** A dataset of 10 samples: x = [i, 10 i], y = i. */
const tensors = () => new TensorDataset(kiln.tensor(range(10).map((i) => [i, 10 * i])), kiln.tensor(range(10), { dtype: 'int64' }));
const ys = ([, y]: kiln.Tensor[]) => y!.tolist();

describe('kiln.data.DataLoader', () => {
  it('batches a TensorDataset in order; the last batch is smaller, or dropped with dropLast', async () => {
    const loader = new DataLoader(tensors(), { batchSize: 4 });
    expect(loader.length).toBe(3);
    const batches = await epoch(loader, ([x, y]) => [x!.shape, x!.dtype, y!.tolist()]);
    expect(batches).toEqual([[[4, 2], 'f32', [0, 1, 2, 3]], [[4, 2], 'f32', [4, 5, 6, 7]], [[2, 2], 'f32', [8, 9]]]);
    const first = (await epoch(loader, ([x]) => x!.tolist()))[0];
    expect(first).toEqual([[0, 0], [1, 10], [2, 20], [3, 30]]);
    const dropped = new DataLoader(tensors(), { batchSize: 4, dropLast: true });
    expect(dropped.length).toBe(2);
    expect(await epoch(dropped, ys)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    // The default batch size is 1, as in PyTorch.
    expect(await epoch(new DataLoader(tensors()), ys)).toHaveLength(10);
  });

  it('shuffle visits every sample once per epoch, in a new order each epoch, the same orders for the same seed', async () => {
    const run = async (seed: number) => {
      const loader = new DataLoader(tensors(), { batchSize: 3, shuffle: true, generator: new kiln.Random(seed) });
      return [(await epoch(loader, ys)).flat(), (await epoch(loader, ys)).flat()] as number[][];
    };
    const [e1, e2] = await run(42);
    expect([...e1!].sort((a, b) => a - b)).toEqual(range(10));
    expect([...e2!].sort((a, b) => a - b)).toEqual(range(10));
    expect(e1).not.toEqual(e2);
    expect(await run(42)).toEqual([e1, e2]);
    expect((await run(43))[0]).not.toEqual(e1);
  });

  it('takes a sampler, a batch sampler, a collate function, and plain-object datasets with asynchronous get', async () => {
    const ds = { length: 6, get: async (i: number) => ({ id: i, feat: new Float32Array([i, -i]) }) };
    const backwards = { length: 6, *[Symbol.iterator]() { for (let i = 5; i >= 0; i--) yield i; } };
    const bySampler = new DataLoader(ds, { batchSize: 4, sampler: backwards });
    expect(await epoch(bySampler, (b) => [b.id.tolist(), b.feat.shape])).toEqual([[[5, 4, 3, 2], [4, 2]], [[1, 0], [2, 2]]]);
    const byBatches = new DataLoader(ds, { batchSampler: new BatchSampler(new SequentialSampler(ds), 5) });
    expect(byBatches.length).toBe(2);
    expect(await epoch(byBatches, (b) => b.id.tolist())).toEqual([[0, 1, 2, 3, 4], [5]]);
    const sums = new DataLoader(ds, { batchSize: 2, collate: (samples: { id: number }[]) => samples.reduce((s, x) => s + x.id, 0) });
    expect(await epoch(sums)).toEqual([1, 5, 9]);
  });

  it('prepares prefetchFactor batches ahead of the consumer, and no more', async () => {
    const started: number[] = [];
    const ds = { length: 8, get: (i: number) => { started.push(i); return i; } };
    const loader = new DataLoader(ds, { batchSize: 2, prefetchFactor: 2 });
    const it = loader[Symbol.asyncIterator]();
    expect(((await it.next()).value as kiln.Tensor).tolist()).toEqual([0, 1]);
    // Batch 0 is consumed; batches 1 and 2 are in preparation.
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    await it.next();
    expect(started).toEqual(range(8));
    await it.return!(undefined);
    const lazy: number[] = [];
    const none = new DataLoader({ length: 4, get: (i: number) => { lazy.push(i); return i; } }, { prefetchFactor: 0 });
    const it0 = none[Symbol.asyncIterator]();
    await it0.next();
    expect(lazy).toEqual([0]);
  });

  it('a failing sample rejects when its batch is consumed; breaking out stops loading', async () => {
    const ds = { length: 6, get: async (i: number) => { if (i === 3) throw new Error('bad sample 3'); return i; } };
    const got: unknown[] = [];
    await expect((async () => { for await (const b of new DataLoader(ds, { batchSize: 2 })) got.push(b.tolist()); })()).rejects.toThrow(/bad sample 3/);
    expect(got).toEqual([[0, 1]]);
    const started: number[] = [];
    const counted = new DataLoader({ length: 100, get: (i: number) => { started.push(i); return i; } }, { prefetchFactor: 1 });
    for await (const b of counted) if (b.item() === 2) break;
    expect(started.length).toBeLessThanOrEqual(4);
  });

  it('with batchSize: null, each sample is a batch: host arrays converted to tensors, the rest as it is', async () => {
    const ds = { length: 2, get: (i: number) => ({ x: { dtype: 'f32' as const, shape: [1], data: new Float32Array([i]) }, tag: `s${i}` }) };
    const loader = new DataLoader(ds, { batchSize: null });
    expect(loader.length).toBe(2);
    const out = await epoch(loader, (b) => [b.x.tolist(), b.tag]);
    expect(out).toEqual([[[0], 's0'], [[1], 's1']]);
  });

  it('refuses conflicting or unsupported options clearly', () => {
    const ds = tensors();
    expect(() => new DataLoader({ length: 2, get: (i: number) => i }, { numWorkers: 2 })).toThrow(/numWorkers: 2: a worker thread cannot receive this dataset/);
    expect(() => new DataLoader(ds, { pinMemory: true })).toThrow(/pinMemory: true is not supported yet/);
    expect(() => new DataLoader(ds, { shuffle: true, sampler: new SequentialSampler(ds) })).toThrow(/sampler option is mutually exclusive with shuffle/);
    expect(() => new DataLoader(ds, { batchSize: 2, batchSampler: new BatchSampler(new SequentialSampler(ds), 2) })).toThrow(/mutually exclusive with batchSize/);
    expect(() => new DataLoader(ds, { batchSize: null, dropLast: true })).toThrow(/mutually exclusive with dropLast/);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/positive integer value, but got batchSize=0/);
    expect(() => new DataLoader(ds, { prefetchFactor: -1 })).toThrow(/prefetchFactor must be a non-negative integer/);
    expect(() => new DataLoader((() => 1) as never)).toThrow(/map-style dataset/);
    expect(kiln.DataLoader).toBe(DataLoader);
  });
});
