import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import type { Collectives } from '../../../src/frontend/distributed/index.js';
import { rankData } from './workers/rank-data.js';
import type { Step } from './workers/collectives-worker.js';

const { InProcessGroup, spawn } = kiln.distributed;
const WORKER = new URL('./workers/collectives-worker.ts', import.meta.url);

/** The float64 reference: the exact sum of the ranks' values (or its mean), rounded once to f32. */
function reference(length: number, seed: number, worldSize: number, mean: boolean): Float32Array {
  const parts = Array.from({ length: worldSize }, (_, r) => rankData(length, seed, r));
  return Float32Array.from({ length }, (_, i) => {
    const s = parts.reduce((acc, p) => acc + p[i]!, 0);
    return mean ? s / worldSize : s;
  });
}

/** Runs `steps` on every rank of an in-process group. */
async function inProcess(worldSize: number, steps: Step[]): Promise<Float32Array[][]> {
  const ranks = new InProcessGroup(worldSize).ranks();
  return Promise.all(ranks.map(async (g: Collectives) => {
    const out: Float32Array[] = [];
    for (const s of steps) {
      if (s.op === 'barrier') await g.barrier();
      if (s.op === 'allReduce' || s.op === 'broadcast') {
        const x = rankData(s.length, s.seed, g.rank);
        await (s.op === 'allReduce' ? g.allReduce(x, s.reduce) : g.broadcast(x, s.root));
        out.push(x);
      }
    }
    return out;
  }));
}

/** A script of calls: the broadcast's root is the last rank. */
const script = (worldSize: number): Step[] => [
  { op: 'allReduce', length: 2500, reduce: 'sum', seed: 1 },
  { op: 'barrier' },
  { op: 'allReduce', length: 1001, reduce: 'mean', seed: 2 },
  { op: 'broadcast', length: 2100, root: worldSize - 1, seed: 3 },
  { op: 'allReduce', length: 0, reduce: 'sum', seed: 4 },
  { op: 'allReduce', length: 3, reduce: 'sum', seed: 5 },
];

/** Every rank's results equal the float64 reference bit for bit. */
function expectScriptResults(results: Float32Array[][], worldSize: number): void {
  expect(results).toHaveLength(worldSize);
  for (const out of results) {
    expect(out[0]).toEqual(reference(2500, 1, worldSize, false));
    expect(out[1]).toEqual(reference(1001, 2, worldSize, true));
    expect(out[2]).toEqual(rankData(2100, 3, worldSize - 1));
    expect(out[3]).toEqual(new Float32Array(0));
    expect(out[4]).toEqual(reference(3, 5, worldSize, false));
  }
}

describe('collectives, in process', () => {
  it('allReduce sums exactly as float64 rounded once, mean divides by the world size, broadcast copies the root', async () => {
    for (const worldSize of [1, 2, 3]) expectScriptResults(await inProcess(worldSize, script(worldSize)), worldSize);
  });

  it('refuses mismatched calls, bad arguments and overlapping calls', async () => {
    const [a, b] = new InProcessGroup(2).ranks();
    const calls = [a!.allReduce(new Float32Array(4)), b!.allReduce(new Float32Array(5))];
    for (const c of calls) await expect(c).rejects.toThrow(/collective mismatch: rank 0 called allReduce\(4 elements, 'sum'\) while rank 1 called allReduce\(5 elements, 'sum'\)/);
    const mixed = [a!.barrier(), b!.broadcast(new Float32Array(2), 1)];
    for (const c of mixed) await expect(c).rejects.toThrow(/rank 0 called barrier\(\) while rank 1 called broadcast\(2 elements, root 1\)/);
    expect(() => a!.broadcast(new Float32Array(1), 2)).toThrow(/Invalid broadcast root 2, broadcast root should be in the interval \[0, 1\]/);
    expect(() => a!.allReduce(new Float32Array(1), 'max' as 'sum')).toThrow(/allReduce op must be 'sum' or 'mean', got 'max'/);
    expect(() => a!.allReduce([1, 2] as unknown as Float32Array)).toThrow(/allReduce takes a Float32Array, got \[object Array\]/);
    const first = a!.barrier();
    expect(() => a!.barrier()).toThrow(/rank 0 called a collective before its previous one completed/);
    await Promise.all([first, b!.barrier()]);
    expect(() => new InProcessGroup(0)).toThrow(/worldSize must be a positive integer, got 0/);
    expect(() => new InProcessGroup(2).rank(2)).toThrow(/Invalid rank 2, rank should be in the interval \[0, 1\]/);
  });
});

describe('collectives, worker threads (shared memory)', () => {
  it('the same results in 2 and 3 workers, arrays longer than the shared slots going in chunks', async () => {
    for (const worldSize of [2, 3]) {
      const results = await spawn<Float32Array[]>(WORKER, { worldSize, data: script(worldSize), capacity: 1000 });
      expectScriptResults(results, worldSize);
    }
  });

  it('a mismatched call fails on every rank, naming both calls', async () => {
    const steps: Step[] = [{ op: 'broadcast', length: 8, root: 0, seed: 1 }, { op: 'barrier' }];
    // Rank 1 skips the broadcast: its first call is the barrier.
    const worker = new URL('./workers/mismatch-worker.ts', import.meta.url);
    await expect(spawn(worker, { worldSize: 2, data: steps })).rejects.toThrow(
      /rank \d failed: collective mismatch: rank 0 called broadcast\(8 elements, root 0\) while rank 1 called barrier\(\)/,
    );
  });

  it("a rank's error rejects spawn with it, naming the rank", async () => {
    const steps: Step[] = [{ op: 'barrier' }, { op: 'throw', rank: 1 }, { op: 'barrier' }];
    await expect(spawn(WORKER, { worldSize: 2, data: steps })).rejects.toThrow(/rank 1 failed: RangeError: rank 1 gives up/);
  });

  it('a rank that never arrives times the others out, naming it', async () => {
    const steps: Step[] = [{ op: 'exit', rank: 1 }, { op: 'barrier' }];
    await expect(spawn(WORKER, { worldSize: 2, data: steps, timeoutMs: 300 })).rejects.toThrow(
      /rank 0 failed: rank 0 waited 0.3 s in barrier for rank\(s\) 1, which never arrived/,
    );
  });

  it('refuses a worker module without main, and a bad world size', async () => {
    const noMain = new URL('./workers/rank-data.ts', import.meta.url);
    await expect(spawn(noMain, { worldSize: 1 })).rejects.toThrow(/rank 0 failed: the worker module .*rank-data.ts exports no main\(context\) function/);
    await expect(spawn(WORKER, { worldSize: 0 })).rejects.toThrow(/worldSize must be a positive integer, got 0/);
  });
});
