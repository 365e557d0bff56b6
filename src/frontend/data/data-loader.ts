import { KilnError } from '../../ir/errors.js';
import { defaultRandom, type Random } from '../torch/random.js';
import { defaultCollate, defaultConvert, type Collated } from './collate.js';
import type { Dataset } from './dataset.js';
import { loadBatch, type CollateFn } from './load-batch.js';
import { BatchSampler, RandomSampler, SequentialSampler, type Sampler } from './sampler.js';
import { batchSeed, epochSeed } from './seeds.js';
import { workerSetupOf, type WorkerOptions } from './worker-options.js';
import { WorkerPool } from './worker-pool.js';
import { callRecipe, sendable, type SentRecipe } from './worker-recipe.js';

// The DataLoader of torch.utils.data, for map-style datasets: a sampler orders the indices, a batch
// sampler groups them, samples are fetched and collated into batches, and batches are prepared
// ahead of the consumer in a bounded queue, so their preparation (synchronous or asynchronous)
// overlaps with what the consumer awaits meanwhile (a training step on the device). With worker
// threads, the batches are prepared in parallel off the main thread (see worker-pool.ts).

/** The options every DataLoader takes. */
interface LoaderOptions extends WorkerOptions {
  /** Visit the dataset in a new random order every epoch (default false). Exclusive with `sampler`. */
  readonly shuffle?: boolean;
  /** The order of the indices (default: sequential, or random with `shuffle`). */
  readonly sampler?: Sampler<number>;
  /** Yields whole batches of indices; exclusive with batchSize, shuffle, sampler and dropLast. */
  readonly batchSampler?: Sampler<number[]>;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  readonly dropLast?: boolean;
  /**
   * The generator `shuffle` draws its orders from (see RandomSampler), and each epoch its base
   * seed for the samples' generators (default: kiln's default generator, see `kiln.manualSeed`).
   */
  readonly generator?: Random;
  /**
   * How many batches are prepared ahead of the one being consumed (default 2), per worker with
   * worker threads. 0 prepares each batch only when it is asked for: no overlap (main thread only).
   */
  readonly prefetchFactor?: number;
  /** Page-locked host memory for uploads: not supported (trainLoop stages each upload while the device runs the previous step). */
  readonly pinMemory?: boolean;
}

/** Batched loading: `collate` makes a batch of a list of samples. */
export interface BatchedLoaderOptions<T, B> extends LoaderOptions {
  /** Samples per batch (default 1). */
  readonly batchSize?: number;
  /** Makes a batch of a list of samples (default: `defaultCollate`). */
  readonly collate?: (samples: T[]) => B | Promise<B>;
}

/** Unbatched loading (`batchSize: null`): each sample is a batch, passed through `collate` alone. */
export interface UnbatchedLoaderOptions<T, B> extends LoaderOptions {
  readonly batchSize: null;
  /** Makes a batch of one sample (default: `defaultConvert`). */
  readonly collate?: (sample: T) => B | Promise<B>;
}

export type DataLoaderOptions<T, B> = BatchedLoaderOptions<T, B> | UnbatchedLoaderOptions<T, B>;

function refuseUnsupported(opts: DataLoaderOptions<never, unknown>): void {
  if (opts.pinMemory) throw new KilnError('pinMemory: true is not supported yet (trainLoop already uploads the next batch while the device runs the current step)');
}

/** The batch sampler the options describe (PyTorch's checks and messages), or none for unbatched loading. */
function batchSamplerOf(dataset: Dataset<unknown>, opts: DataLoaderOptions<never, unknown>): { sampler: Sampler<number>; batches?: Sampler<number[]> } {
  const batchSize = opts.batchSize === undefined ? 1 : opts.batchSize;
  if (opts.sampler && opts.shuffle) throw new KilnError('sampler option is mutually exclusive with shuffle');
  if (opts.batchSampler) {
    if (batchSize !== 1 || opts.shuffle || opts.sampler || opts.dropLast) {
      throw new KilnError('batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast');
    }
    return { sampler: new SequentialSampler(dataset), batches: opts.batchSampler };
  }
  const sampler = opts.sampler ?? (opts.shuffle
    ? new RandomSampler(dataset, opts.generator ? { generator: opts.generator } : {})
    : new SequentialSampler(dataset));
  if (batchSize === null) {
    if (opts.dropLast) throw new KilnError('batchSize: null disables batching and is mutually exclusive with dropLast');
    return { sampler };
  }
  return { sampler, batches: new BatchSampler(sampler, batchSize, opts.dropLast ?? false) };
}

/**
 * Loads batches of a map-style dataset, as PyTorch's DataLoader:
 *
 *   const loader = new kiln.data.DataLoader(new kiln.data.TensorDataset(x, y), { batchSize: 64, shuffle: true });
 *   for await (const [xb, yb] of loader) { ... }
 *
 * Each `for await` is one epoch. Batches come in the sampler's order; up to `prefetchFactor` of
 * them (per worker, with `numWorkers`) are being prepared while the consumer works on the current
 * one. A sample or batch that fails rejects when it is consumed, not before. Each sample's
 * `get(index, random)` receives a generator seeded from the epoch's base seed, its batch and its
 * place in the batch, so a fixed seed gives the same batches with or without worker threads.
 */
export class DataLoader<T, B = Collated<T>> implements AsyncIterable<B> {
  readonly batchSize: number | null;
  readonly dropLast: boolean;
  readonly prefetchFactor: number;
  readonly numWorkers: number;
  /** The order of the dataset's indices. */
  readonly sampler: Sampler<number>;
  /** The batches of indices (absent when batchSize is null). */
  readonly batchSampler: Sampler<number[]> | undefined;
  private readonly collate: CollateFn<B>;
  /** How the collate function is made when it comes from a module (workerCollate). */
  private readonly collateRecipe: SentRecipe | undefined;
  private readonly generator: Random | undefined;
  private readonly workerSetup: ReturnType<typeof workerSetupOf>;
  private readonly persistentWorkers: boolean;
  /** The worker threads kept between epochs (persistentWorkers). */
  private kept: WorkerPool | undefined;

  constructor(readonly dataset: Dataset<T>, opts: DataLoaderOptions<T, B> = {}) {
    refuseUnsupported(opts);
    if (typeof dataset?.get !== 'function' || !Number.isInteger(dataset.length) || dataset.length < 0) {
      throw new KilnError('a DataLoader needs a map-style dataset: an object with an integer length and get(index)');
    }
    this.prefetchFactor = opts.prefetchFactor ?? 2;
    if (!Number.isInteger(this.prefetchFactor) || this.prefetchFactor < 0) {
      throw new KilnError(`prefetchFactor must be a non-negative integer, got ${this.prefetchFactor}`);
    }
    const { sampler, batches } = batchSamplerOf(dataset, opts);
    this.sampler = sampler;
    this.batchSampler = batches;
    this.batchSize = opts.batchSampler ? null : opts.batchSize === undefined ? 1 : opts.batchSize;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator;
    this.workerSetup = workerSetupOf(dataset as Dataset<unknown>, opts, batches !== undefined);
    this.numWorkers = this.workerSetup?.numWorkers ?? 0;
    this.persistentWorkers = opts.persistentWorkers ?? false;
    if (opts.collate && opts.workerCollate) throw new KilnError('collate and workerCollate options are mutually exclusive (workerCollate makes the collate function from a module, for worker threads)');
    this.collateRecipe = opts.workerCollate && sendable(opts.workerCollate, 'workerCollate');
    this.collate = (opts.collate ?? (batches ? defaultCollate : defaultConvert)) as CollateFn<B>;
  }

  /** Batches per epoch (samples per epoch when unbatched), as `len(loader)`. */
  get length(): number {
    return (this.batchSampler ?? this.sampler).length;
  }

  /** Ends the worker threads kept between epochs (persistentWorkers); a later epoch starts new ones. */
  async close(): Promise<void> {
    const pool = this.kept;
    this.kept = undefined;
    await pool?.terminate();
  }

  /** The function that loads batch k of an epoch whose base seed is `base`, on the main thread or in a worker. */
  private async loader(base: number, pool: WorkerPool | undefined): Promise<(k: number, indices: number | number[]) => Promise<B>> {
    if (pool) return (k, indices) => pool.load(k, { indices, seed: batchSeed(base, k) }) as Promise<B>;
    const collate = this.collateRecipe ? await callRecipe(this.collateRecipe, 'workerCollate') as CollateFn<B> : this.collate;
    if (typeof collate !== 'function') throw new KilnError(`workerCollate: ${this.collateRecipe!.export}() must return a collate function, got ${typeof collate}`);
    return (k, indices) => loadBatch(this.dataset, collate, { indices, seed: batchSeed(base, k) });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    // The base seed is drawn before the sampler draws its order, on every epoch, as in PyTorch.
    const base = epochSeed(this.generator ?? defaultRandom.current);
    const order: Iterator<number | number[]> = (this.batchSampler ?? this.sampler)[Symbol.iterator]();
    const setup = this.workerSetup;
    const pool = setup && (this.persistentWorkers ? (this.kept ??= new WorkerPool(setup)) : new WorkerPool(setup));
    try {
      const load = await this.loader(base, pool);
      const ahead = this.prefetchFactor * Math.max(1, this.numWorkers);
      const queue: Promise<B>[] = [];
      let k = 0;
      const fill = (upTo: number) => {
        while (queue.length < upTo) {
          const r = order.next();
          if (r.done) return;
          const p = Promise.resolve(k++).then((batch) => load(batch, r.value));
          p.catch(() => undefined); // observed when consumed
          queue.push(p);
        }
      };
      for (;;) {
        fill(1);
        const head = queue.shift();
        if (!head) return;
        // Start the next ones now, so they are prepared while the consumer works on this one.
        fill(ahead);
        yield await head;
      }
    } finally {
      if (pool && pool !== this.kept) await pool.terminate();
    }
  }
}
