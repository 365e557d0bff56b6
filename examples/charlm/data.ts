// The text, its characters, a train/validation split, and batches of windows from it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromArray, type Random, type Tensor } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * The Book of Genesis, King James Version (public domain; see README.md), one verse a line: next
 * to this file in the source tree, which the compiled copy in dist/ reads too.
 */
export const TEXT_FILE = [join(here, 'genesis.txt'), join(here, '../../../examples/charlm/genesis.txt')].find((f) => existsSync(f)) ?? join(here, 'genesis.txt');

/** A text as character indices, with the alphabet that maps them back. */
export interface Corpus {
  /** The distinct characters, sorted: index i stands for chars[i]. */
  readonly chars: readonly string[];
  readonly train: Int32Array;
  readonly val: Int32Array;
}

/** Encodes `text` over its own alphabet; the last `valFraction` of it is held out for validation. */
export function corpus(text: string, valFraction = 0.1): Corpus {
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  const ids = Int32Array.from(text, (c) => index.get(c)!);
  const cut = Math.floor(ids.length * (1 - valFraction));
  return { chars, train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

export function readCorpus(file = TEXT_FILE): Corpus {
  return corpus(readFileSync(file, 'utf8'));
}

export function decode(c: Corpus, ids: Iterable<number>): string {
  return Array.from(ids, (i) => c.chars[i]).join('');
}

/**
 * The entropy in nats of the character distribution of `ids` over `vocab` characters: the loss
 * of the best model that ignores context (the unigram baseline).
 */
export function unigramEntropy(ids: Int32Array, vocab: number): number {
  const counts = new Float64Array(vocab);
  for (const i of ids) counts[i]!++;
  let h = 0;
  for (const n of counts) if (n > 0) h -= (n / ids.length) * Math.log(n / ids.length);
  return h;
}

/** `batch` windows of `context` characters at random offsets, and the characters that follow each position. */
export function randomBatch(ids: Int32Array, batch: number, context: number, rng: Random): { x: Tensor; y: Tensor } {
  const starts = Array.from({ length: batch }, () => Math.floor(rng.next() * (ids.length - context - 1)));
  return windows(ids, starts, context);
}

/** The windows starting at `starts`: inputs [B, T] and next-character targets [B, T] (int32). */
export function windows(ids: Int32Array, starts: readonly number[], context: number): { x: Tensor; y: Tensor } {
  const x = new Int32Array(starts.length * context);
  const y = new Int32Array(starts.length * context);
  starts.forEach((s, b) => {
    x.set(ids.subarray(s, s + context), b * context);
    y.set(ids.subarray(s + 1, s + context + 1), b * context);
  });
  return { x: fromArray(x, [starts.length, context], { dtype: 'int32' }), y: fromArray(y, [starts.length, context], { dtype: 'int32' }) };
}
