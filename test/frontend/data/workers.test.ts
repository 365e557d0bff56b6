import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { NoisyDataset } from '../../fixtures/worker-datasets.js';

const { DataLoader, TensorDataset } = kiln.data;
const fixtures = new URL('../../fixtures/worker-datasets.ts', import.meta.url);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Every batch of one epoch, as nested values. */
async function epoch<B>(loader: AsyncIterable<B>, values: (b: B) => unknown): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of loader) out.push(values(b));
  return out;
}

const isShared = (t: kiln.Tensor) => t.data.data.buffer instanceof SharedArrayBuffer;

describe('DataLoader worker threads', () => {
  it('a shuffled TensorDataset gives the same batches with 2 workers as on the main thread, in shared memory', async () => {
    const x = kiln.tensor(range(23).map((i) => [i, 10 * i, 100 * i]));
    const y = kiln.tensor(range(23), { dtype: 'int64' });
    const run = async (numWorkers: number) => {
      const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 4, shuffle: true, generator: new kiln.Random(7), numWorkers, persistentWorkers: numWorkers > 0 });
      const shared: boolean[] = [];
      const values = ([xb, yb]: kiln.Tensor[]) => { shared.push(isShared(xb!), isShared(yb!)); return [xb!.tolist(), yb!.tolist(), xb!.dtype, yb!.dtype]; };
      const epochs = [await epoch(loader, values), await epoch(loader, values)];
      await loader.close();
      return { epochs, shared };
    };
    const main = await run(0);
    const workers = await run(2);
    expect(workers.epochs).toEqual(main.epochs);
    expect(main.epochs[0]).toHaveLength(6);
    expect(main.epochs[0]).not.toEqual(main.epochs[1]);
    expect(main.shared.every((s) => !s)).toBe(true);
    expect(workers.shared.every((s) => s)).toBe(true);
  });

  it('augmentation drawn from each sample\'s generator is the same with workers; batches come in sampler order whichever finishes first', async () => {
    const xs = (b: { x: kiln.Tensor; y: kiln.Tensor }) => [b.x.tolist(), b.y.tolist()];
    const opts = { batchSize: 2, shuffle: true } as const;
    const workers = new DataLoader(new NoisyDataset(10), { ...opts, numWorkers: 2, persistentWorkers: true, workerDataset: { module: fixtures, export: 'noisy', args: [10] } });
    kiln.manualSeed(5);
    const main = [await epoch(new DataLoader(new NoisyDataset(10), opts), xs), await epoch(new DataLoader(new NoisyDataset(10), opts), xs)];
    kiln.manualSeed(5);
    expect([await epoch(workers, xs), await epoch(workers, xs)]).toEqual(main);
    await workers.close();
    kiln.manualSeed(6);
    expect(await epoch(new DataLoader(new NoisyDataset(10), opts), xs)).not.toEqual(main[0]);
    // Samples 0 and 1 are slow: worker 1 posts batch 1 while worker 0 still loads batch 0.
    const slow = new DataLoader(new NoisyDataset(10), { batchSize: 2, numWorkers: 2, workerDataset: { module: fixtures, export: 'slowFirst', args: [10] } });
    expect(await epoch(slow, (b) => b.y.tolist())).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
  });

  it('an error in a worker rejects its batch with the worker\'s message and stack; earlier batches arrive first', async () => {
    const loader = new DataLoader({ length: 8, get: (i: number) => i }, {
      batchSize: 2, numWorkers: 2, workerDataset: { module: fixtures, export: 'failingAt', args: [8, 5] },
    });
    const got: unknown[] = [];
    const failure = await (async () => { for await (const b of loader) got.push(b.tolist()); })().catch((e: Error) => e);
    expect(got).toEqual([[0, 1], [2, 3]]);
    expect(failure).toBeInstanceOf(kiln.KilnError);
    expect((failure as Error).message).toMatch(/Caught RangeError in DataLoader worker 0 \(batch 2\): sample 5 is corrupt/);
    expect((failure as Error).message).toMatch(/worker-datasets\.ts/);
    // A worker that cannot make its dataset reports why with the first batch asked of it.
    const missing = new DataLoader({ length: 4, get: (i: number) => i }, { numWorkers: 1, workerDataset: { module: fixtures, export: 'nope' } });
    await expect(epoch(missing, (b) => b)).rejects.toThrow(/no exported function 'nope'/);
    const wrongLength = new DataLoader({ length: 5, get: (i: number) => i }, { numWorkers: 1, workerDataset: { module: fixtures, export: 'noisy', args: [4] } });
    await expect(epoch(wrongLength, (b) => b)).rejects.toThrow(/must be a map-style dataset of 5 samples, as the DataLoader's; got 4 samples/);
  });

  it('workerInit runs in each worker with its id; workerCollate makes the collate function on either side', async () => {
    const who = new DataLoader({ length: 4, get: () => [0, 0] }, {
      batchSize: 1, numWorkers: 2, workerDataset: { module: fixtures, export: 'whoLoads', args: [4] }, workerInit: { module: fixtures, export: 'remember', args: ['ok'] },
    });
    expect(await epoch(who, (b) => (b as unknown as kiln.Tensor[]).map((t) => t.tolist()))).toEqual([[[0], [2]], [[1], [2]], [[0], [2]], [[1], [2]]]);
    const collate = { module: fixtures, export: 'labelSum' };
    type Summed = { sum: number; first: kiln.Tensor };
    type Sample = { x: Float32Array; y: number };
    const sums = (b: Summed) => [b.sum, b.first.shape];
    kiln.manualSeed(1);
    const main = await epoch(new DataLoader<Sample, Summed>(new NoisyDataset(6), { batchSize: 3, workerCollate: collate }), sums);
    kiln.manualSeed(1);
    const workers = await epoch(new DataLoader<Sample, Summed>(new NoisyDataset(6), { batchSize: 3, numWorkers: 2, workerCollate: collate, workerDataset: { module: fixtures, export: 'noisy', args: [6] } }), sums);
    expect(main).toEqual([[3, [1, 2]], [12, [1, 2]]]);
    expect(workers).toEqual(main);
  });

  it('refuses clearly what cannot run in a worker thread', () => {
    const ds = new NoisyDataset(4);
    expect(() => new DataLoader(ds, { numWorkers: 2 })).toThrow(/numWorkers: 2: a worker thread cannot receive this dataset \(a NoisyDataset.*give workerDataset: \{ module, export, args \}/);
    expect(() => new DataLoader(ds, { numWorkers: 1, collate: (s: unknown) => s, workerDataset: { module: fixtures } })).toThrow(/a collate function cannot be sent to a worker thread; give workerCollate/);
    expect(() => new DataLoader(ds, { numWorkers: 1, workerDataset: { module: './worker-datasets.ts' } })).toThrow(/module must be a URL or an absolute path/);
    expect(() => new DataLoader(ds, { numWorkers: 1, workerDataset: { module: fixtures, args: [() => 1] } })).toThrow(/args cannot be sent to a worker thread/);
    expect(() => new DataLoader(ds, { numWorkers: 1, prefetchFactor: 0, workerDataset: { module: fixtures } })).toThrow(/prefetchFactor >= 1/);
    expect(() => new DataLoader(ds, { persistentWorkers: true })).toThrow(/persistentWorkers option needs numWorkers > 0/);
    expect(() => new DataLoader(ds, { numWorkers: -1 })).toThrow(/non-negative integer/);
    expect(() => new DataLoader(ds, { collate: (s: unknown) => s, workerCollate: { module: fixtures } })).toThrow(/mutually exclusive/);
    const onGrad = new TensorDataset(kiln.ones([3, 2], { requiresGrad: true }));
    expect(() => new DataLoader(onGrad, { numWorkers: 1 })).toThrow(/tensor 0 must be a CPU tensor without autograd/);
  });

  it('workers end when an epoch is broken off, and abandoned ones do not keep the process alive', async () => {
    const script = fileURLToPath(new URL('../../fixtures/abandoned-loader.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { timeout: 50_000 });
    expect(stdout).toBe('first batch [[0,1],[2,3]]\nabandoned after [[0,1],[2,3]]\n');
  });
});
