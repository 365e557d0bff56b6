import type { Dataset } from './dataset.js';
import { sampleRandom } from './seeds.js';

// Loading one batch, the same way on the main thread and in a worker thread.

/** One batch to load: its dataset indices (one index when unbatched) and its seed (see seeds.ts). */
export interface BatchRequest {
  readonly indices: number | readonly number[];
  readonly seed: number;
}

/** Makes a batch of a list of samples (or of one sample when unbatched). */
export type CollateFn<B> = (samples: never) => B | Promise<B>;

/** Fetches a batch's samples, each with its own seeded generator, and collates them. */
export async function loadBatch<T, B>(dataset: Dataset<T>, collate: CollateFn<B>, req: BatchRequest): Promise<B> {
  if (typeof req.indices === 'number') return collate(await dataset.get(req.indices, sampleRandom(req.seed, 0)) as never);
  const samples = await Promise.all(req.indices.map((i, position) => dataset.get(i, sampleRandom(req.seed, position))));
  return collate(samples as never);
}
