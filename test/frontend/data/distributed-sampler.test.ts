import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';

const { DistributedSampler, randomPermutation } = kiln.data;
const sized = (length: number) => ({ length });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * PyTorch's DistributedSampler as its documentation and source state it, written out here on
 * its own: num_samples = ceil((n - R) / R) with drop_last when n % R != 0, else ceil(n / R);
 * total = num_samples * R; the order is padded with its start (repeated as often as needed)
 * or cut to total; replica r takes indices[r : total : R].
 */
function pytorchIndices(order: number[], R: number, r: number, dropLast: boolean): number[] {
  const n = order.length;
  const numSamples = dropLast && n % R !== 0 ? Math.ceil((n - R) / R) : Math.ceil(n / R);
  const total = numSamples * R;
  let indices = [...order];
  if (!dropLast) {
    const padding = total - n;
    if (padding <= n) indices = indices.concat(indices.slice(0, padding));
    else indices = indices.concat(Array.from({ length: Math.ceil(padding / n) }, () => indices).flat().slice(0, padding));
  } else {
    indices = indices.slice(0, total);
  }
  const out: number[] = [];
  for (let i = r; i < total; i += R) out.push(indices[i]!);
  return out;
}

describe('DistributedSampler', () => {
  it("matches PyTorch's formula without shuffling: padding, dropLast, more replicas than samples", () => {
    for (const n of [0, 1, 2, 7, 10, 11, 12]) {
      for (const R of [1, 2, 3, 4, 5]) {
        for (const dropLast of [false, true]) {
          for (let r = 0; r < R; r++) {
            const s = new DistributedSampler(sized(n), { numReplicas: R, rank: r, shuffle: false, dropLast });
            const want = pytorchIndices(range(n), R, r, dropLast);
            expect([...s], `n=${n} R=${R} r=${r} dropLast=${dropLast}`).toEqual(want);
            expect(s.length).toBe(want.length);
          }
        }
      }
    }
    // Spelled out: 10 samples on 3 replicas pad with 0 and 1; dropLast keeps 9.
    const at = (rank: number, dropLast = false) => [...new DistributedSampler(sized(10), { numReplicas: 3, rank, shuffle: false, dropLast })];
    expect([at(0), at(1), at(2)]).toEqual([[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]);
    expect([at(0, true), at(1, true), at(2, true)]).toEqual([[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
  });

  it('shuffles with the permutation seeded by seed + epoch, the same on every replica, a new one after setEpoch', () => {
    const make = (rank: number) => new DistributedSampler(sized(23), { numReplicas: 4, rank, seed: 7 });
    const replicas = range(4).map(make);
    for (const epoch of [0, 1, 5]) {
      replicas.forEach((s) => s.setEpoch(epoch));
      const order = randomPermutation(23, new kiln.Random(7 + epoch));
      replicas.forEach((s, r) => expect([...s]).toEqual(pytorchIndices(order, 4, r, false)));
      // Together the replicas cover every index, the first one twice (24 = 23 + 1 padding).
      const all = replicas.flatMap((s) => [...s]).sort((a, b) => a - b);
      expect(new Set(all).size).toBe(23);
      expect(all).toHaveLength(24);
    }
    const a = make(0);
    const first = [...a];
    expect([...a]).toEqual(first); // the order changes only through setEpoch
    a.setEpoch(1);
    expect([...a]).not.toEqual(first);
  });

  it('drives a DataLoader: each replica gets its batches, all replicas together one epoch', async () => {
    const ds = new kiln.data.TensorDataset(kiln.arange(0, 12));
    const seen: number[] = [];
    for (const rank of [0, 1]) {
      const sampler = new DistributedSampler(ds, { numReplicas: 2, rank, seed: 3 });
      const loader = new kiln.data.DataLoader(ds, { batchSize: 3, sampler });
      for await (const [x] of loader) seen.push(...(x as kiln.Tensor).tolist() as number[]);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(range(12));
  });

  it('refuses a bad rank or replica count, and a missing process group', () => {
    expect(() => new DistributedSampler(sized(4), { numReplicas: 2, rank: 2 })).toThrow(/Invalid rank 2, rank should be in the interval \[0, 1\]/);
    expect(() => new DistributedSampler(sized(4), { numReplicas: 2, rank: -1 })).toThrow(/Invalid rank -1/);
    expect(() => new DistributedSampler(sized(4), { numReplicas: 0, rank: 0 })).toThrow(/numReplicas must be a positive integer, got 0/);
    expect(() => new DistributedSampler(sized(4))).toThrow(/Default process group has not been initialized/);
    expect(() => new DistributedSampler(sized(4), { numReplicas: 2, rank: 0 }).setEpoch(-1)).toThrow(/epoch must be a non-negative integer/);
    const grows = { length: 4 };
    const s = new DistributedSampler(grows, { numReplicas: 2, rank: 0 });
    grows.length = 6;
    expect(() => [...s]).toThrow(/the dataset's length changed from 4 to 6/);
  });
});
