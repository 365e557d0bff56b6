import { attrsOf } from '../../../ir/attrs.js';
import { columnWeights, poolNgrams, tfidfAttrs, tfidfColumns } from '../../../ir/ops/tfidf.js';
import { alloc, type CpuKernel } from './kernel.js';

/** Counts each row's pool n-grams, then weights the counts per mode. */
const tfidfVectorizer: CpuKernel = (node, [x]) => {
  const a = attrsOf(node, tfidfAttrs);
  const out = alloc(node.output.type);
  const columns = tfidfColumns(a);
  const [rows, width] = x!.shape.length === 2 ? [x!.shape[0]!, x!.shape[1]!] : [1, x!.shape[0]!];
  // Column of each n-gram of a counted length, keyed by its tokens; a later duplicate wins.
  const column = new Map<string, number>();
  const prefixes = new Set<string>();
  for (const g of poolNgrams(a)) {
    if (g.tokens.length < a.min_gram_length || g.tokens.length > a.max_gram_length) continue;
    column.set(g.tokens.join(','), a.ngram_indexes[g.id]!);
    for (let k = 1; k <= g.tokens.length; k++) prefixes.add(g.tokens.slice(0, k).join(','));
  }
  const counts = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    const row = (i: number) => x!.data[r * width + i]!;
    for (let skip = 1; skip <= a.max_skip_count + 1; skip++) {
      // Unigrams do not depend on the skip: they are counted at skip 1 only.
      const shortest = skip === 1 ? a.min_gram_length : Math.max(a.min_gram_length, 2);
      if (shortest > a.max_gram_length) break;
      for (let start = 0; start < width; start++) {
        const tokens: number[] = [];
        for (let at = start; at < width && tokens.length < a.max_gram_length; at += skip) {
          tokens.push(row(at));
          const key = tokens.join(',');
          if (!prefixes.has(key)) break;
          const col = column.get(key);
          if (col !== undefined && tokens.length >= shortest) counts[r * columns + col]! += 1;
        }
      }
    }
  }
  const weights = columnWeights(a);
  const weight = (c: number) => weights[c]!;
  for (let i = 0; i < counts.length; i++) {
    const c = i % columns;
    out.data[i] = a.mode === 'TF' ? counts[i]! : a.mode === 'IDF' ? (counts[i]! > 0 ? weight(c) : 0) : counts[i]! * weight(c);
  }
  return [out];
};

export const tfidfKernels: Record<string, CpuKernel> = { tfidf_vectorizer: tfidfVectorizer };
