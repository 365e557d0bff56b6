import { KilnError } from '../../ir/errors.js';
import type { Random } from '../torch/random.js';
import { defaultCollate, defaultConvert, type Collated } from './collate.js';
import type { Dataset } from './dataset.js';
import { BatchSampler, RandomSampler, SequentialSampler, type Sampler } from './sampler.js';

// The DataLoader of torch.utils.data, for map-style datasets: a sampler orders the indices, a batch
// sampler groups them, samples are fetched and collated into batches, and batches are prepared
// ahead of the consumer in a bounded queue, so their preparation (synchronous or asynchronous)
// overlaps with what the consumer awaits meanwhile (a training step on the device).

/** The options every DataLoader takes. */
interface LoaderOptions {
  /** Visit the dataset in a new random order every epoch (default false). Exclusive with `sampler`. */
  readonly shuffle?: boolean;
  /** The order of the indices (default: sequential, or random with `shuffle`). */
  readonly sampler?: Sampler<number>;
  /** Yields whole batches of indices; exclusive with batchSize, shuffle, sampler and dropLast. */
  readonly batchSampler?: Sampler<number[]>;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  readonly dropLast?: boolean;
  /** The generator `shuffle` draws its orders from (see RandomSampler). */
  readonly generator?: Random;
  /**
   * How many batches are prepared ahead of the one being consumed (default 2). 0 prepares each
   * batch only when it is asked for: no overlap.
   */
  readonly prefetchFactor?: number;
  /** Worker threads preparing batches: only 0 (batches are prepared on the main thread) for now. */
  readonly numWorkers?: number;
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
  const workers = opts.numWorkers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) throw new KilnError(`numWorkers option should be a non-negative integer, got ${workers}`);
  if (workers > 0) {
    throw new KilnError(`numWorkers: ${workers}: worker threads are not supported yet; use numWorkers: 0 (batches are still prepared ahead of the consumer, prefetchFactor of them)`);
  }
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
 * them are being prepared while the consumer works on the current one. A sample or batch that
 * fails rejects when it is consumed, not before.
 */
export class DataLoader<T, B = Collated<T>> implements AsyncIterable<B> {
  readonly batchSize: number | null;
  readonly dropLast: boolean;
  readonly prefetchFactor: number;
  readonly numWorkers = 0;
  /** The order of the dataset's indices. */
  readonly sampler: Sampler<number>;
  /** The batches of indices (absent when batchSize is null). */
  readonly batchSampler: Sampler<number[]> | undefined;
  private readonly collate: (samples: never) => B | Promise<B>;

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
    this.collate = (opts.collate ?? (batches ? defaultCollate : defaultConvert)) as (samples: never) => B;
  }

  /** Batches per epoch (samples per epoch when unbatched), as `len(loader)`. */
  get length(): number {
    return (this.batchSampler ?? this.sampler).length;
  }

  /** Fetches and collates one batch (or one sample when unbatched). */
  private async load(indices: number | number[]): Promise<B> {
    if (typeof indices === 'number') return this.collate(await this.dataset.get(indices) as never);
    const samples = await Promise.all(indices.map((i) => this.dataset.get(i)));
    return this.collate(samples as never);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const order: Iterator<number | number[]> = (this.batchSampler ?? this.sampler)[Symbol.iterator]();
    const queue: Promise<B>[] = [];
    const fill = (upTo: number) => {
      while (queue.length < upTo) {
        const r = order.next();
        if (r.done) return;
        const p = Promise.resolve(r.value).then((indices) => this.load(indices));
        p.catch(() => undefined); // observed when consumed
        queue.push(p);
      }
    };
    for (;;) {
      fill(1);
      const head = queue.shift();
      if (!head) return;
      // Start the next ones now, so they are prepared while the consumer works on this one.
      fill(this.prefetchFactor);
      yield await head;
    }
  }
}
