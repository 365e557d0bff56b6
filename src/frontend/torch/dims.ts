import { KilnError } from '../../ir/errors.js';

// Dimension arguments as PyTorch takes them.

/** `dim` resolved against `rank`, with PyTorch's message when out of range. */
export function normDim(dim: number, rank: number): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new KilnError(`Dimension out of range (expected to be in range of [${-r}, ${r - 1}], but got ${dim})`);
  }
  return dim < 0 ? dim + r : dim;
}

export function chunkSizes(n: number, size: number): number[] {
  if (!(size > 0)) throw new KilnError(`split size must be positive, got ${size}`);
  const out: number[] = [];
  for (let at = 0; at < n; at += size) out.push(Math.min(size, n - at));
  return out.length ? out : [0];
}
