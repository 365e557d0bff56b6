import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';

const { SequentialSampler, RandomSampler, SubsetRandomSampler, BatchSampler } = kiln.data;
const sized = (length: number) => ({ length });
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('samplers', () => {
  it('SequentialSampler yields 0..n-1', () => {
    const s = new SequentialSampler(sized(4));
    expect([...s]).toEqual([0, 1, 2, 3]);
    expect(s.length).toBe(4);
  });

  it('RandomSampler: a permutation per epoch, a new one each epoch, the same sequence for the same seed', () => {
    const s = new RandomSampler(sized(20), { generator: new kiln.Random(3) });
    const e1 = [...s];
    const e2 = [...s];
    expect(sorted(e1)).toEqual(range(20));
    expect(sorted(e2)).toEqual(range(20));
    expect(e2).not.toEqual(e1);
    const again = new RandomSampler(sized(20), { generator: new kiln.Random(3) });
    expect([...again]).toEqual(e1);
    expect([...again]).toEqual(e2);
  });

  it('RandomSampler without a generator follows kiln.manualSeed', () => {
    kiln.manualSeed(11);
    const a = [...new RandomSampler(sized(30))];
    kiln.manualSeed(11);
    const b = [...new RandomSampler(sized(30))];
    expect(b).toEqual(a);
    expect(sorted(a)).toEqual(range(30));
  });

  it('RandomSampler draws each of the 6 orders of 3 items equally often (chi-square, 5 degrees of freedom)', () => {
    const s = new RandomSampler(sized(3), { generator: new kiln.Random(1) });
    const counts = new Map<string, number>();
    const epochs = 6000;
    for (let e = 0; e < epochs; e++) {
      const key = [...s].join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const expected = epochs / 6;
    const chi2 = [...counts.values()].reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    // P(chi2 > 20.5) < 0.001 for 5 degrees of freedom.
    expect(chi2).toBeLessThan(20.5);
  });

  it('RandomSampler with numSamples: whole permutations follow each other; with replacement, independent draws', () => {
    const s = new RandomSampler(sized(4), { numSamples: 10, generator: new kiln.Random(5) });
    const xs = [...s];
    expect(s.length).toBe(10);
    expect(xs).toHaveLength(10);
    expect(sorted(xs.slice(0, 4))).toEqual(range(4));
    expect(sorted(xs.slice(4, 8))).toEqual(range(4));
    expect(new Set(xs.slice(8)).size).toBe(2);
    const r = [...new RandomSampler(sized(3), { replacement: true, numSamples: 300, generator: new kiln.Random(2) })];
    expect(r).toHaveLength(300);
    expect(r.every((i) => Number.isInteger(i) && i >= 0 && i < 3)).toBe(true);
    expect(new Set(r).size).toBe(3);
    expect(() => new RandomSampler(sized(3), { numSamples: 0 })).toThrow(/numSamples should be a positive integer/);
  });

  it('SubsetRandomSampler permutes the given indices', () => {
    const s = new SubsetRandomSampler([10, 20, 30, 40], { generator: new kiln.Random(9) });
    expect(sorted([...s])).toEqual([10, 20, 30, 40]);
    expect(s.length).toBe(4);
  });

  it('BatchSampler groups indices; the last batch is kept or dropped', () => {
    const seq = new SequentialSampler(sized(10));
    expect([...new BatchSampler(seq, 3)]).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(new BatchSampler(seq, 3).length).toBe(4);
    expect([...new BatchSampler(seq, 3, true)]).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
    expect(new BatchSampler(seq, 3, true).length).toBe(3);
    expect([...new BatchSampler(seq, 5, true)]).toHaveLength(2);
    expect(() => new BatchSampler(seq, 0)).toThrow(/batchSize should be a positive integer value, but got batchSize=0/);
  });
});
