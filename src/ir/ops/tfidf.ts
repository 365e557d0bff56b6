// ONNX TfIdfVectorizer over integer tokens: counts of the pool's n-grams (with skips) in each
// row, weighted. Which output a token feeds depends on the data: a CPU op.
import type { AttrsOf } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { defineOp } from './registry.js';

/** tfidf_vectorizer's attributes: ONNX's, the pool as integers. */
export const tfidfAttrs = {
  mode: { kind: 'string' },
  min_gram_length: { kind: 'int' },
  max_gram_length: { kind: 'int' },
  max_skip_count: { kind: 'int' },
  /** Where in `pool` the n-grams of length 1, 2, ... start. */
  ngram_counts: { kind: 'ints' },
  /** The output column of each n-gram of the pool, in pool order. */
  ngram_indexes: { kind: 'ints' },
  pool: { kind: 'ints' },
  /** One weight per n-gram of the pool, in pool order (IDF, TFIDF), or none (weights of 1). */
  weights: { kind: 'floats', default: [] },
} as const;

type TfidfAttrs = AttrsOf<typeof tfidfAttrs>;

/** The pool's n-grams as (tokens, pool-order id) lists, lengths 1, 2, ... in order; checks the layout. */
export function poolNgrams(a: TfidfAttrs): { tokens: number[]; id: number }[] {
  const grams: { tokens: number[]; id: number }[] = [];
  a.ngram_counts.forEach((start, i) => {
    const end = a.ngram_counts[i + 1] ?? a.pool.length;
    const size = i + 1;
    if (start < 0 || end < start || end > a.pool.length || (end - start) % size !== 0) {
      throw new OpTypeError(`ngram_counts [${a.ngram_counts.join(',')}] do not split a pool of ${a.pool.length} into whole ${size}-grams`);
    }
    for (let at = start; at < end; at += size) grams.push({ tokens: a.pool.slice(at, at + size), id: grams.length });
  });
  return grams;
}

/** The number of output columns: one past the largest n-gram index. */
export function tfidfColumns(a: TfidfAttrs): number {
  return Math.max(-1, ...a.ngram_indexes) + 1;
}

/**
 * The weight of each output column: that of the pool n-gram counted there (ONNX gives weights
 * per n-gram); 1 without weights. Columns shared by n-grams of different weights are refused.
 */
export function columnWeights(a: TfidfAttrs): number[] {
  const weights = new Array<number>(tfidfColumns(a)).fill(a.weights.length > 0 ? NaN : 1);
  a.weights.forEach((w, id) => {
    const c = a.ngram_indexes[id]!;
    if (!Number.isNaN(weights[c]!) && weights[c] !== w) throw new OpTypeError(`n-grams of weights ${weights[c]} and ${w} share output column ${c}`);
    weights[c] = w;
  });
  return weights.map((w) => (Number.isNaN(w) ? 0 : w));
}

/**
 * tfidf_vectorizer(x [C] or [B, C], i32) -> f32 [columns] or [B, columns]: for each row, every
 * n-gram of length min..max taken with skip distance 1..max_skip_count+1 between its tokens
 * (unigrams counted once) that is in the pool adds 1 to its column; TF gives the counts, IDF the
 * n-gram's weight where the count is positive, TFIDF the count times the weight.
 */
defineOp({
  name: 'tfidf_vectorizer', kind: 'opaque', inputs: 1,
  attrs: tfidfAttrs,
  infer: ([x], attrs) => {
    if (x!.dtype !== 'i32' || x!.shape.length < 1 || x!.shape.length > 2) throw new OpTypeError(`takes i32 tokens [C] or [B, C], got ${formatShapeType(x!.dtype, x!.shape)}`);
    if (!['TF', 'IDF', 'TFIDF'].includes(attrs.mode)) throw new OpTypeError(`mode "${attrs.mode}" is not TF, IDF or TFIDF`);
    if (attrs.min_gram_length < 1 || attrs.max_gram_length < attrs.min_gram_length || attrs.max_skip_count < 0) {
      throw new OpTypeError(`gram lengths ${attrs.min_gram_length}..${attrs.max_gram_length} and max_skip_count ${attrs.max_skip_count} are not a valid range`);
    }
    const grams = poolNgrams(attrs);
    const columns = tfidfColumns(attrs);
    if (attrs.ngram_indexes.length !== grams.length || attrs.ngram_indexes.some((i) => i < 0)) {
      throw new OpTypeError(`ngram_indexes needs one non-negative column for each of the pool's ${grams.length} n-grams, got ${attrs.ngram_indexes.length}`);
    }
    if (attrs.weights.length > 0 && attrs.weights.length !== grams.length) throw new OpTypeError(`weights needs one value per n-gram of the pool (${grams.length}), got ${attrs.weights.length}`);
    columnWeights(attrs);
    return [{ dtype: 'f32', shape: x!.shape.length === 2 ? [x!.shape[0]!, columns] : [columns] }];
  },
});
