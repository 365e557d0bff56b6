// Ops on string tensors (ONNX StringConcat, RegexFullMatch, StringSplit, StringNormalizer). String
// values live on the host, so these are CPU ops: placement runs them between WebGPU segments.
import { OpTypeError } from '../errors.js';
import { dimRange, dNumel, sizeVar, type Dim } from '../size-expr.js';
import { formatShapeType, type TensorType } from '../types.js';
import { defineOp } from './registry.js';
import { broadcastShapes } from './shape-util.js';
import { regexOf } from './regex.js';

function needStrings(ts: readonly TensorType[], what: string): void {
  const bad = ts.find((t) => t.dtype !== 'string');
  if (bad) throw new OpTypeError(`takes string ${what}, got ${formatShapeType(bad.dtype, bad.shape)}`);
}

/** The size variable named by `attrs.size`, over min..max (see data-dependent.ts). */
function resultSize(attrs: { readonly size?: string }, min: number, max: number): Dim {
  if (attrs.size === undefined) throw new OpTypeError('internal: a data-dependent op without its size name');
  return sizeVar(attrs.size, min, max);
}

/** string_concat(a, b): the elements joined pairwise, broadcast NumPy-style. */
defineOp({
  name: 'string_concat', kind: 'opaque', inputs: 2, strings: true,
  infer: (ins) => {
    needStrings(ins, 'operands');
    return [{ dtype: 'string', shape: broadcastShapes(ins.map((t) => t.shape)) }];
  },
});

export const regexFullMatchAttrs = { pattern: { kind: 'string' } } as const;

/**
 * regex_full_match(x) {pattern}: whether each element matches the whole RE2 pattern (regex.ts
 * says which patterns kiln reads, refusing those JavaScript would read differently).
 */
defineOp({
  name: 'regex_full_match', kind: 'opaque', inputs: 1, strings: true,
  attrs: regexFullMatchAttrs,
  infer: ([x], attrs) => {
    needStrings([x!], 'elements');
    regexOf(attrs.pattern);
    return [{ dtype: 'bool', shape: x!.shape }];
  },
});

/**
 * Pieces a string_split without `maxsplit` may give per element: the largest extent the result
 * is typed with (a run giving more fails, naming the size's range).
 */
export const MAX_SPLIT_PIECES = 1 << 16;

/**
 * string_split's attributes: `delimiter` absent (or empty) splits at runs of whitespace,
 * ignoring it at both ends (Python's str.split()); `maxsplit` bounds the splits per element.
 */
export const stringSplitAttrs = {
  size: { kind: 'string', optional: true },
  delimiter: { kind: 'string', optional: true },
  maxsplit: { kind: 'int', optional: true },
} as const;

/**
 * string_split(x): each element's pieces along a new last axis of extent K (the most pieces of
 * any element; shorter rows are padded with empty strings), and each element's piece count (i32).
 */
defineOp({
  name: 'string_split', kind: 'opaque', inputs: 1, strings: true, producesSize: true,
  attrs: stringSplitAttrs,
  infer: ([x], attrs) => {
    needStrings([x!], 'elements');
    if (attrs.maxsplit !== undefined && attrs.maxsplit < 0) throw new OpTypeError(`maxsplit must be at least 0, got ${attrs.maxsplit}`);
    return [{ dtype: 'string', shape: [...x!.shape, splitMax(attrs.maxsplit)] }, { dtype: 'i32', shape: x!.shape }];
  },
  dims: ([x], attrs) => [[...x!, resultSize(attrs, 0, splitMax(attrs.maxsplit))], x!],
});

function splitMax(maxsplit: number | undefined): number {
  return maxsplit === undefined ? MAX_SPLIT_PIECES : Math.min(MAX_SPLIT_PIECES, maxsplit + 1);
}

/**
 * string_normalizer's attributes (ONNX StringNormalizer): `case_change` is NONE, LOWER or UPPER;
 * stopwords (the optional second operand, a string vector) are removed first, compared
 * case-insensitively unless `case_sensitive`.
 */
export const stringNormalizerAttrs = {
  size: { kind: 'string', optional: true },
  case_change: { kind: 'string', default: 'NONE' },
  case_sensitive: { kind: 'bool', default: false },
} as const;

export const CASE_CHANGES = ['NONE', 'LOWER', 'UPPER'] as const;

/**
 * string_normalizer(x, stopwords?): x is [C] or [1, C]; the result keeps the elements that are
 * not stopwords, in order, case-changed: [K] or [1, K]. With none left it is one empty string.
 */
defineOp({
  name: 'string_normalizer', kind: 'opaque', inputs: [1, 2], strings: true, producesSize: true,
  attrs: stringNormalizerAttrs,
  infer: ([x, stop], attrs) => {
    needStrings([x!, ...(stop ? [stop] : [])], 'elements');
    const s = x!.shape;
    if (!(s.length === 1 || (s.length === 2 && s[0] === 1))) throw new OpTypeError(`takes [C] or [1, C] strings, got ${formatShapeType(x!.dtype, s)}`);
    if (stop && stop.shape.length !== 1) throw new OpTypeError(`takes the stopwords as a vector, got ${formatShapeType(stop.dtype, stop.shape)}`);
    if (!(CASE_CHANGES as readonly string[]).includes(attrs.case_change)) throw new OpTypeError(`case_change must be one of ${CASE_CHANGES.join(', ')}, got '${attrs.case_change}'`);
    return [{ dtype: 'string', shape: [...s.slice(0, -1), Math.max(1, s.at(-1)!)] }];
  },
  dims: ([x], attrs) => {
    const c = dimRange(dNumel(x!))[1];
    return [[...x!.slice(0, -1), resultSize(attrs, 1, Math.max(1, c))]];
  },
});
