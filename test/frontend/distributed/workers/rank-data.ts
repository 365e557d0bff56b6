import { Random } from '../../../../src/frontend/torch/random.js';

/** A rank's f32 values for a test: normal draws over a wide range of magnitudes, seeded by (seed, rank). */
export function rankData(length: number, seed: number, rank: number): Float32Array {
  const rng = new Random(seed * 1000 + rank);
  return Float32Array.from({ length }, (_, i) => rng.normal() * 10 ** ((i % 7) - 3));
}
