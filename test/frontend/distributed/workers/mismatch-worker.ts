// A worker whose rank 1 skips the first call of the script: the collectives must refuse the mix.
import type { WorkerContext } from '../../../../src/frontend/distributed/index.js';
import { main as run, type Step } from './collectives-worker.js';

export function main(ctx: WorkerContext<Step[]>): Promise<Float32Array[]> {
  return run({ ...ctx, data: ctx.rank === 1 ? ctx.data.slice(1) : ctx.data });
}
