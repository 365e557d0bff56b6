import { KilnError } from '../../ir/errors.js';
import { Random } from '../torch/random.js';
import { getRank, getWorldSize } from '../distributed/process-group.js';
import { randomPermutation, type Sampler, type Sized } from './sampler.js';

// torch.utils.data.DistributedSampler: splits a dataset's indices across the replicas of
// data-parallel training, each replica taking every numReplicas-th index from its rank on. The
// order (a permutation seeded by seed + epoch, the same on every replica) is padded by repeating
// its start so that every replica gets the same number of samples, or with dropLast cut to a
// multiple of numReplicas. Call setEpoch(epoch) before each epoch for a new order.

export interface DistributedSamplerOptions {
  /** How many replicas share the dataset (default: the default group's world size). */
  readonly numReplicas?: number;
  /** This replica's rank (default: its rank in the default group). */
  readonly rank?: number;
  /** Shuffle the indices, the same way on every replica (default true). */
  readonly shuffle?: boolean;
  /** Seeds the shuffle, with the epoch added (default 0); every replica must use the same. */
  readonly seed?: number;
  /** Drop the tail that does not divide evenly instead of padding (default false). */
  readonly dropLast?: boolean;
}

export class DistributedSampler implements Sampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Samples this replica yields per epoch. */
  readonly numSamples: number;
  /** Samples all replicas yield per epoch together (numSamples * numReplicas). */
  readonly totalSize: number;
  private epoch = 0;
  /** The dataset's length when the sampler was made (the counts above depend on it). */
  private readonly size: number;

  constructor(private readonly dataset: Sized, opts: DistributedSamplerOptions = {}) {
    this.numReplicas = opts.numReplicas ?? getWorldSize();
    this.rank = opts.rank ?? getRank();
    if (!Number.isInteger(this.numReplicas) || this.numReplicas < 1) throw new KilnError(`numReplicas must be a positive integer, got ${this.numReplicas}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.numReplicas) {
      throw new KilnError(`Invalid rank ${this.rank}, rank should be in the interval [0, ${this.numReplicas - 1}]`);
    }
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new KilnError(`seed must be an integer, got ${this.seed}`);
    this.dropLast = opts.dropLast ?? false;
    const n = dataset.length;
    this.size = n;
    // PyTorch's counts: with dropLast the largest multiple of numReplicas not above n, else n rounded up to one.
    // (Math.max turns the -0 that Math.ceil gives for fewer samples than replicas into 0, as Python's int.)
    this.numSamples = Math.max(0, this.dropLast && n % this.numReplicas !== 0 ? Math.ceil((n - this.numReplicas) / this.numReplicas) : Math.ceil(n / this.numReplicas));
    this.totalSize = this.numSamples * this.numReplicas;
  }

  get length(): number {
    return this.numSamples;
  }

  /** Sets the epoch, which seeds the next order (seed + epoch): call it before each epoch's iteration. */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new KilnError(`epoch must be a non-negative integer, got ${epoch}`);
    this.epoch = epoch;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataset.length;
    if (n !== this.size) throw new KilnError(`the dataset's length changed from ${this.size} to ${n} since the DistributedSampler was made`);
    let indices = this.shuffle ? randomPermutation(n, new Random(this.seed + this.epoch)) : Array.from({ length: n }, (_, i) => i);
    if (this.dropLast) {
      indices = indices.slice(0, this.totalSize);
    } else if (n > 0) {
      // Pad with the order's start, repeated when the padding is longer than the dataset.
      const padding = this.totalSize - n;
      for (let k = 0; k < padding; k++) indices.push(indices[k % n]!);
    }
    for (let i = this.rank; i < this.totalSize; i += this.numReplicas) yield indices[i]!;
  }
}
