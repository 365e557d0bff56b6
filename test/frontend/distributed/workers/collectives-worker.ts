// A worker for the collectives tests: runs the script in `data` and returns what each call left.
import type { WorkerContext } from '../../../../src/frontend/distributed/index.js';
import { rankData } from './rank-data.js';

export type Step =
  | { op: 'allReduce'; length: number; reduce: 'sum' | 'mean'; seed: number }
  | { op: 'broadcast'; length: number; root: number; seed: number }
  | { op: 'barrier' }
  | { op: 'throw'; rank: number }
  | { op: 'exit'; rank: number };

export async function main(ctx: WorkerContext<Step[]>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const s of ctx.data) {
    if (s.op === 'throw' && s.rank === ctx.rank) throw new RangeError(`rank ${ctx.rank} gives up`);
    if (s.op === 'exit' && s.rank === ctx.rank) return out;
    if (s.op === 'barrier') await ctx.group.barrier();
    if (s.op === 'allReduce' || s.op === 'broadcast') {
      const x = rankData(s.length, s.seed, ctx.rank);
      await (s.op === 'allReduce' ? ctx.group.allReduce(x, s.reduce) : ctx.group.broadcast(x, s.root));
      out.push(x);
    }
  }
  return out;
}
