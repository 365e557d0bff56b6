// TfIdfVectorizer over integer tokens: kiln's tfidf_vectorizer, a CPU op. String tokens are
// refused (kiln has no string tensors).
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';

defineOnnxOp('TfIdfVectorizer', (n) => {
  const x = n.input(0);
  if (n.attrs.has('pool_strings')) n.unsupported('string pools (pool_strings) are not supported');
  const dtype = typeOf(x).dtype;
  if (dtype !== 'i32') n.unsupported(`takes int32 or int64 tokens, got ${dtype}`);
  const required = (name: string) => n.attrs.int(name) ?? n.fail(`needs the attribute '${name}'`);
  return n.b.op('tfidf_vectorizer', [x], {
    mode: n.attrs.string('mode') ?? n.fail("needs the attribute 'mode'"),
    min_gram_length: required('min_gram_length'), max_gram_length: required('max_gram_length'), max_skip_count: required('max_skip_count'),
    ngram_counts: n.attrs.ints('ngram_counts') ?? n.fail("needs the attribute 'ngram_counts'"),
    ngram_indexes: n.attrs.ints('ngram_indexes') ?? n.fail("needs the attribute 'ngram_indexes'"),
    pool: n.attrs.ints('pool_int64s', []),
    weights: n.attrs.floats('weights', []),
  });
});
