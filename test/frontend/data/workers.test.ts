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
});
