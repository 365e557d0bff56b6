import { Random } from '../torch/random.js';

// Randomness of data loading that does not depend on who loads a batch: each epoch draws one base
// seed (as PyTorch's DataLoader does), each batch's seed is mixed from it and the batch's index,
// and each sample gets its own generator seeded from its batch's seed and its place in the batch.
// A sample's random draws (augmentation) are then the same on the main thread and in any worker,
// whichever worker loads it and in whatever order samples finish.

/** One round of a 32-bit integer hash (the murmur3 finalizer): nearby inputs give unrelated outputs. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The seed of `a`'s `b`-th child stream. */
function childSeed(a: number, b: number): number {
  return mix32((mix32(a >>> 0) + Math.imul(b + 1, 0x9e3779b9)) >>> 0);
}

/** An epoch's base seed, drawn from `generator`. */
export function epochSeed(generator: Random): number {
  return Math.floor(generator.next() * 2 ** 32) >>> 0;
}

/** The seed of batch `index` of an epoch whose base seed is `base`. */
export function batchSeed(base: number, index: number): number {
  return childSeed(base, index);
}

/** The generator of the sample at `position` within a batch whose seed is `seed`. */
export function sampleRandom(seed: number, position: number): Random {
  return new Random(childSeed(seed, position));
}
