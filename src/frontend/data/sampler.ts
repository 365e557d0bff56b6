import { KilnError } from '../../ir/errors.js';
import { defaultRandom, Random } from '../torch/random.js';

// Samplers, as torch.utils.data's: the order in which a DataLoader visits a dataset's indices.
// Each iteration is one epoch; a random sampler draws a new order every epoch.

/** An iterable of indices (or of index batches) whose length is known. */
export interface Sampler<I = number> extends Iterable<I> {
  readonly length: number;
}

/** Anything with a length: a dataset. */
export interface Sized {
  readonly length: number;
}

function checkCount(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new KilnError(`${what} must be a non-negative integer, got ${n}`);
  return n;
}

/** The indices 0, 1, ..., length - 1 in order. */
export class SequentialSampler implements Sampler {
  constructor(private readonly dataSource: Sized) {}

  get length(): number {
    return this.dataSource.length;
  }

  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.dataSource.length; i++) yield i;
  }
}

export interface RandomSamplerOptions {
  /** Draw with replacement (default false: each epoch is a permutation). */
  readonly replacement?: boolean;
  /** Samples per epoch (default: the dataset's length). */
  readonly numSamples?: number;
  /**
   * The generator the orders are drawn from: successive epochs continue its stream, so a seeded
   * one (`new kiln.Random(seed)`) gives the same sequence of orders every run. Without one, each
   * epoch seeds a fresh generator from kiln's default one (reproducible after `kiln.manualSeed`),
   * as PyTorch does.
   */
  readonly generator?: Random;
}

/** A fresh generator seeded from the default one, for an epoch without an explicit generator. */
function epochGenerator(): Random {
  return new Random(Math.floor(defaultRandom.current.next() * 2 ** 32));
}

/** A uniform permutation of 0..n-1 (Fisher-Yates). */
export function randomPermutation(n: number, rng: Random): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/**
 * Random indices into a dataset: a new permutation each epoch, or with `replacement`, independent
 * uniform draws. Without replacement and `numSamples` above the length, whole permutations follow
 * each other and the last is cut short, as in PyTorch.
 */
export class RandomSampler implements Sampler {
  readonly replacement: boolean;
  private readonly generator: Random | undefined;
  private readonly samples: number | undefined;

  constructor(private readonly dataSource: Sized, opts: RandomSamplerOptions = {}) {
    this.replacement = opts.replacement ?? false;
    this.generator = opts.generator;
    if (opts.numSamples !== undefined && (!Number.isInteger(opts.numSamples) || opts.numSamples <= 0)) {
      throw new KilnError(`numSamples should be a positive integer value, but got numSamples=${opts.numSamples}`);
    }
    this.samples = opts.numSamples;
  }

  get length(): number {
    return this.samples ?? this.dataSource.length;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = checkCount(this.dataSource.length, "a dataset's length");
    const rng = this.generator ?? epochGenerator();
    const total = this.length;
    if (n === 0) return;
    if (this.replacement) {
      for (let k = 0; k < total; k++) yield Math.floor(rng.next() * n);
      return;
    }
    for (let left = total; left > 0; left -= n) yield* randomPermutation(n, rng).slice(0, Math.min(n, left));
  }
}

/** The given indices in a new random order each epoch. */
export class SubsetRandomSampler implements Sampler {
  private readonly indices: readonly number[];

  constructor(indices: readonly number[], private readonly opts: { readonly generator?: Random } = {}) {
    this.indices = [...indices];
  }

  get length(): number {
    return this.indices.length;
  }

  *[Symbol.iterator](): Iterator<number> {
    const rng = this.opts.generator ?? epochGenerator();
    for (const k of randomPermutation(this.indices.length, rng)) yield this.indices[k]!;
  }
}

/** Groups another sampler's indices into batches of `batchSize`; the last may be smaller unless `dropLast`. */
export class BatchSampler implements Sampler<number[]> {
  constructor(readonly sampler: Sampler<number>, readonly batchSize: number, readonly dropLast = false) {
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new KilnError(`batchSize should be a positive integer value, but got batchSize=${batchSize}`);
    }
  }

  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) { yield batch; batch = []; }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}
