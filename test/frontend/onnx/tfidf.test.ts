// TfIdfVectorizer (kiln's tfidf_vectorizer CPU op) against ONNX Runtime on seeded tokens 0..4:
// unigrams to trigrams, skips, every mode, with and without weights, 1-D and 2-D input.
import { describe, it } from 'vitest';
import { attr, buildModel, node, OnnxType, type AttrInit } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';

// Unigrams 0, 3, 4; bigrams (1,2), (0,0), (4,1), (2,3); trigrams (1,2,3), (0,4,0).
const pool = [0, 3, 4, 1, 2, 0, 0, 4, 1, 2, 3, 1, 2, 3, 0, 4, 0];
const counts = [0, 3, 11];
const indexes = [5, 0, 2, 7, 1, 3, 6, 4, 8];

function model(dims: number[], attrs: Record<string, AttrInit>): Uint8Array {
  return buildModel({
    opset: 9, inputs: [{ name: 'x', dims, type: OnnxType.INT64 }], outputs: [{ name: 'out' }],
    nodes: [node('TfIdfVectorizer', ['x'], ['out'], {
      pool_int64s: attr.ints(pool), ngram_counts: attr.ints(counts), ngram_indexes: attr.ints(indexes), ...attrs,
    })],
  });
}

describe('TfIdfVectorizer', () => {
  for (const mode of ['TF', 'IDF', 'TFIDF']) {
    for (const [min, max, skip] of [[1, 1, 0], [1, 3, 0], [2, 3, 2], [1, 2, 4], [3, 3, 1]] as const) {
      it(`${mode}, lengths ${min}..${max}, max_skip_count ${skip}`, () => expectSameAsOrt(model([3, 12], {
        mode: attr.s(mode), min_gram_length: attr.i(min), max_gram_length: attr.i(max), max_skip_count: attr.i(skip),
      }), { onnxTypes: { x: OnnxType.INT64 } }).then(() => undefined));
    }
  }
  it('weights, and a 1-D input', async () => {
    const weights = attr.floats([0.5, 2, 1.5, 3, 0.25, 1, 4, 0.75, 2.5]);
    for (const mode of ['IDF', 'TFIDF']) {
      await expectSameAsOrt(model([20], { mode: attr.s(mode), min_gram_length: attr.i(1), max_gram_length: attr.i(3), max_skip_count: attr.i(3), weights }), { onnxTypes: { x: OnnxType.INT64 }, seed: 3 });
    }
  });
});
