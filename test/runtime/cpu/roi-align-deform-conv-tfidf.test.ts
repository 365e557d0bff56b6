import { describe, expect, it } from 'vitest';
import { runNode } from './run-node.js';

// roi_align, deform_conv2d and tfidf_vectorizer against answers worked out by hand (ONNX
// Runtime and the ONNX suite check them further in test/frontend/onnx and the conformance run).

const values = (t: { data: ArrayLike<number> }) => Array.from(t.data);

describe('roi_align', () => {
  const x = { shape: [1, 1, 2, 2], values: [1, 2, 3, 4] };
  const roi = (box: number[], attrs: Record<string, unknown>, batch = 0) =>
    values(runNode('roi_align', [x, { shape: [1, 4], values: box }, { dtype: 'i32', shape: [1], values: [batch] }], attrs as never));

  it('half_pixel: one sample at the centre of a 2x2 box interpolates all four pixels', () => {
    expect(roi([0, 0, 2, 2], { sampling_ratio: 1 })).toEqual([2.5]);
    // max keeps the largest weighted corner value: 0.25 * 4.
    expect(roi([0, 0, 2, 2], { sampling_ratio: 1, mode: 'max' })).toEqual([1]);
  });
  it('output_half_pixel forces a box to at least 1x1; a sample far outside reads 0', () => {
    expect(roi([0, 0, 0.2, 0.2], { half_pixel: false })).toEqual([2.5]);
    expect(roi([10, 10, 12, 12], { sampling_ratio: 1 })).toEqual([0]);
  });
  it('a sample within a pixel of the border clamps to the edge; a 2x2 output splits the box', () => {
    // The sample lands at (2, 2), on the far border: it reads pixel (1, 1).
    expect(roi([1.5, 1.5, 1.6, 1.6], { sampling_ratio: 1, half_pixel: false })).toEqual([4]);
    // Bins of one pixel sample the pixel centres.
    expect(roi([0, 0, 2, 2], { sampling_ratio: 1, output_height: 2, output_width: 2 })).toEqual([1, 2, 3, 4]);
  });
  it('rejects a batch index out of range', () => {
    expect(() => roi([0, 0, 1, 1], {}, 1)).toThrow(/batch index 1 of box 0 is out of range/);
  });
});

describe('deform_conv2d', () => {
  const x = { shape: [1, 1, 3, 3], values: [0, 1, 2, 3, 4, 5, 6, 7, 8] };
  const run = (dy: number, maskValue: number, bias: number) => values(runNode('deform_conv2d', [
    x, { shape: [1, 1, 1, 1], values: [1] },
    { shape: [1, 2, 3, 3], values: [...new Array<number>(9).fill(dy), ...new Array<number>(9).fill(0)] },
    { shape: [1], values: [bias] }, { shape: [1, 1, 3, 3], values: new Array<number>(9).fill(maskValue) },
  ]));
  it('zero offsets and a unit mask are a plain convolution', () => {
    expect(run(0, 1, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('half a pixel down averages two rows (the row past the border reads 0), scaled by the mask, plus the bias', () => {
    expect(run(0.5, 1, 0)).toEqual([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 3, 3.5, 4]);
    expect(run(0.5, 2, 1)).toEqual([4, 6, 8, 10, 12, 14, 7, 8, 9]);
  });
});

describe('tfidf_vectorizer', () => {
  // n-grams [1], [2], [1,2], [1,3] in columns 0..3; tokens 1 2 1 3 2.
  const base = { ngram_counts: [0, 2], ngram_indexes: [0, 1, 2, 3], pool: [1, 2, 1, 2, 1, 3] };
  const run = (attrs: Record<string, unknown>) =>
    values(runNode('tfidf_vectorizer', [{ dtype: 'i32', shape: [1, 5], values: [1, 2, 1, 3, 2] }], { ...base, ...attrs } as never));

  it('counts unigrams once and bigrams at every skip distance', () => {
    expect(run({ mode: 'TF', min_gram_length: 1, max_gram_length: 2, max_skip_count: 0 })).toEqual([2, 2, 1, 1]);
    // Skip distance 2 adds the bigram (1, 2) at tokens 2 and 4.
    expect(run({ mode: 'TF', min_gram_length: 1, max_gram_length: 2, max_skip_count: 1 })).toEqual([2, 2, 2, 1]);
    expect(run({ mode: 'TF', min_gram_length: 2, max_gram_length: 2, max_skip_count: 1 })).toEqual([0, 0, 2, 1]);
  });
  it('IDF and TFIDF weigh by the n-gram\'s weight', () => {
    const weights = [0.5, 1, 2, 4];
    expect(run({ mode: 'IDF', min_gram_length: 2, max_gram_length: 2, max_skip_count: 1, weights })).toEqual([0, 0, 2, 4]);
    expect(run({ mode: 'TFIDF', min_gram_length: 1, max_gram_length: 2, max_skip_count: 1, weights })).toEqual([1, 2, 4, 4]);
  });
  it('rejects a pool that ngram_counts do not split into whole n-grams', () => {
    expect(() => run({ mode: 'TF', min_gram_length: 1, max_gram_length: 2, max_skip_count: 0, ngram_counts: [0, 3] })).toThrow(/whole 2-grams/);
  });
});
