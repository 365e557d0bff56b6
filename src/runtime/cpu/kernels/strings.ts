import { attrsOf } from '../../../ir/attrs.js';
import { regexOf } from '../../../ir/ops/regex.js';
import { broadcastStrides } from '../../../ir/ops/shape-util.js';
import { regexFullMatchAttrs, stringNormalizerAttrs, stringSplitAttrs } from '../../../ir/ops/strings.js';
import { stringsOf, stringTensor, tensorData } from '../../../ir/tensor-data.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';

// The results of string_split and string_normalizer are as long as the data makes them: their
// shapes come from the data, not from the node's types (which hold the largest extents).

const stringConcat: CpuKernel = (node, [a, b]) => {
  const out = alloc(node.output.type);
  const [xs, ys, zs] = [stringsOf(a!), stringsOf(b!), stringsOf(out)];
  forEachIndex(out.shape, [broadcastStrides(a!.shape, out.shape), broadcastStrides(b!.shape, out.shape)], (i, [p, q]) => {
    zs[i] = xs[p!]! + ys[q!]!;
  });
  return [out];
};

const regexFullMatch: CpuKernel = (node, [x]) => {
  const re = regexOf(attrsOf(node, regexFullMatchAttrs).pattern);
  return [tensorData('bool', x!.shape, stringsOf(x!).map((s) => (re.test(s) ? 1 : 0)))];
};

/** Python's str.isspace for one character (Unicode whitespace and the ASCII separators \x1c-\x1f). */
function isSpace(c: string): boolean {
  return /^[\s\x1c-\x1f\x85]$/u.test(c) && c !== '\ufeff';
}

/** Python's s.split() (runs of whitespace, none at the ends), with at most `maxsplit` splits. */
function splitWhitespace(s: string, maxsplit: number): string[] {
  const chars = Array.from(s);
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (i < chars.length && isSpace(chars[i]!)) i++;
    if (i === chars.length) return out;
    if (out.length === maxsplit) {
      out.push(chars.slice(i).join('')); // the rest, trailing whitespace included
      return out;
    }
    let j = i;
    while (j < chars.length && !isSpace(chars[j]!)) j++;
    out.push(chars.slice(i, j).join(''));
    i = j;
  }
}

/** Python's s.split(sep, maxsplit): every occurrence of `sep` splits, empty pieces kept. */
function splitAt(s: string, sep: string, maxsplit: number): string[] {
  const out: string[] = [];
  let from = 0;
  for (let at = s.indexOf(sep); at >= 0 && out.length < maxsplit; at = s.indexOf(sep, from)) {
    out.push(s.slice(from, at));
    from = at + sep.length;
  }
  out.push(s.slice(from));
  return out;
}

const stringSplit: CpuKernel = (node, [x]) => {
  const { delimiter, maxsplit } = attrsOf(node, stringSplitAttrs);
  const limit = maxsplit ?? Infinity;
  const pieces = stringsOf(x!).map((s) => (delimiter ? splitAt(s, delimiter, limit) : splitWhitespace(s, limit)));
  const k = Math.max(0, ...pieces.map((p) => p.length));
  const flat = pieces.flatMap((p) => [...p, ...new Array<string>(k - p.length).fill('')]);
  return [stringTensor([...x!.shape, k], flat), tensorData('i32', x!.shape, pieces.map((p) => p.length))];
};

/**
 * Upper- or lower-cases each character on its own, keeping it where its case mapping is not one
 * character (C's towupper keeps 'ß'; JavaScript's toUpperCase would make it 'SS').
 */
function changeCase(s: string, upper: boolean): string {
  return Array.from(s, (c) => {
    const m = upper ? c.toUpperCase() : c.toLowerCase();
    return Array.from(m).length === 1 ? m : c;
  }).join('');
}

const stringNormalizer: CpuKernel = (node, [x, stop]) => {
  const { case_change: change, case_sensitive: sensitive } = attrsOf(node, stringNormalizerAttrs);
  const fold = (s: string) => (sensitive ? s : changeCase(s, false));
  const stopwords = new Set((stop ? stringsOf(stop) : []).map(fold));
  let kept = stringsOf(x!).filter((s) => !stopwords.has(fold(s)));
  if (change !== 'NONE') kept = kept.map((s) => changeCase(s, change === 'UPPER'));
  if (kept.length === 0) kept = [''];
  return [stringTensor([...x!.shape.slice(0, -1), kept.length], kept)];
};

export const stringKernels: Record<string, CpuKernel> = {
  string_concat: stringConcat,
  regex_full_match: regexFullMatch,
  string_split: stringSplit,
  string_normalizer: stringNormalizer,
};
