// ONNX sequences and optionals, resolved at import: with static shapes a sequence's length and
// its elements are known while importing, so a sequence is a list of tensor operands held by the
// importer (an optional, one or none) and the sequence ops are bookkeeping on that list. Only
// their tensor results reach the graph, as ordinary kiln ops (slices, concats). Positions must be
// known at import (constants, or graph inputs frozen from their values).
import { isContainer, typeOf, type ImportValue, type Operand, type OptionalOperand, type SequenceOperand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { kilnDType } from '../onnx-types.js';
import { makeConst } from '../tensor.js';
import { normalizeAxis, presentInputs } from './helpers.js';

function sequenceOf(n: OnnxNode, items: readonly Operand[], dtype = items[0] && typeOf(items[0]).dtype): SequenceOperand {
  if (items.some((x) => typeOf(x).dtype !== dtype)) n.fail('the elements of a sequence must all have one element type');
  return { kind: 'sequence', items, dtype };
}

/** The position operand `i` (a scalar known at import), checked against `[-length, length + extra)`. */
function position(n: OnnxNode, i: number, length: number, extra: number, fallback: number): number {
  const p = n.optionalValues(i, 'position');
  if (p && p.length !== 1) n.fail(`its position must be a scalar, got ${p.length} elements`);
  const at = p ? p[0]! : fallback;
  if (!Number.isInteger(at) || at < -length || at >= length + extra) n.fail(`position ${at} is out of range for a sequence of length ${length}`);
  return at < 0 ? at + length : at;
}

defineOnnxOp('SequenceEmpty', (n) => sequenceOf(n, [], kilnDType(n.attrs.int('dtype', 1), `${n.where}'s dtype`)));

defineOnnxOp('SequenceConstruct', (n) => sequenceOf(n, presentInputs(n)));

defineOnnxOp('SequenceLength', (n) => makeConst(`${n.name}:length`, 'i32', [], [n.sequence(0).items.length]));

defineOnnxOp('SequenceAt', (n) => {
  const s = n.sequence(0);
  return s.items[position(n, 1, s.items.length, 0, 0)]!;
});

defineOnnxOp('SequenceInsert', (n) => {
  const s = n.sequence(0);
  const x = n.input(1);
  const at = position(n, 2, s.items.length, 1, s.items.length);
  if (s.dtype !== undefined && typeOf(x).dtype !== s.dtype) n.fail(`inserts a ${typeOf(x).dtype} tensor into a sequence of ${s.dtype}`);
  return sequenceOf(n, [...s.items.slice(0, at), x, ...s.items.slice(at)], s.dtype);
});

defineOnnxOp('SequenceErase', (n) => {
  const s = n.sequence(0);
  if (s.items.length === 0) n.fail('erases from an empty sequence');
  const at = position(n, 1, s.items.length, 0, s.items.length - 1);
  return sequenceOf(n, s.items.filter((_, k) => k !== at), s.dtype);
});

// SplitToSequence: pieces of `split` (a 1-D list of sizes, or a scalar chunk size whose last
// piece may be shorter) along `axis`; without `split`, pieces of one, squeezed unless keepdims.
defineOnnxOp('SplitToSequence', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const axis = normalizeAxis(n, n.attrs.int('axis', 0), shape.length);
  const extent = shape[axis]!;
  const split = n.optional(1) ? n.constant(1, 'split') : undefined;
  const given = split ? n.values(1, 'split') : undefined;
  let sizes: number[];
  if (!given) sizes = new Array<number>(extent).fill(1);
  else if (split!.data.shape.length === 0) {
    const chunk = given[0]!;
    if (!(chunk > 0)) n.fail(`its split size ${chunk} must be positive`);
    sizes = Array.from({ length: Math.ceil(extent / chunk) }, (_, k) => Math.min(chunk, extent - k * chunk));
  } else sizes = given;
  if (sizes.some((s) => s < 0) || sizes.reduce((a, s) => a + s, 0) !== extent) n.fail(`its split sizes [${sizes.join(',')}] do not add up to the extent ${extent} of axis ${axis}`);
  if (sizes.length === 0) n.unsupported('splitting an empty axis (the sequence would be empty)');
  const pieces = n.b.ops('split', [x], { axis, sizes });
  const squeeze = !given && n.attrs.int('keepdims', 1) === 0;
  return sequenceOf(n, squeeze ? pieces.map((p) => n.b.op('squeeze', [p], { axes: [axis] })) : pieces);
});

// ConcatFromSequence: the elements joined along `axis`, or stacked along a new one (new_axis=1).
defineOnnxOp('ConcatFromSequence', (n) => {
  const s = n.sequence(0);
  if (s.items.length === 0) n.unsupported('concatenating an empty sequence (its result has no known shape)');
  const stack = n.attrs.int('new_axis', 0) === 1;
  const rank = typeOf(s.items[0]!).shape.length + (stack ? 1 : 0);
  const axis = normalizeAxis(n, n.attrs.int('axis') ?? n.fail("needs the attribute 'axis'"), rank);
  const parts = stack ? s.items.map((x) => n.b.op('unsqueeze', [x], { axes: [axis] })) : s.items;
  return parts.length === 1 ? parts[0]! : n.b.op('concat', parts, { axis });
});

// SequenceMap: the body imported once per element; sequence operands give their k-th element,
// tensor operands are passed whole. Each body output collects into one output sequence.
defineOnnxOp('SequenceMap', (n) => {
  const body = n.attrs.graph('body') ?? n.fail("has no 'body'");
  const operands = n.inputs.map((_, i) => n.anyInput(i) ?? n.fail(`input ${i} is missing`));
  const length = n.sequence(0).items.length;
  const at = (x: ImportValue, k: number): Operand => {
    if (!isContainer(x)) return x;
    if (x.kind !== 'sequence') return n.unsupported('an optional operand of SequenceMap');
    if (x.items.length !== length) n.fail(`its sequences have different lengths (${length} and ${x.items.length})`);
    return x.items[k]!;
  };
  if (length === 0) n.unsupported('mapping an empty sequence (its element types are unknown)');
  const results = Array.from({ length }, (_, k) => n.importSubgraph(body, operands.map((x) => at(x, k))));
  const kOut = (body.output ?? []).length;
  return Array.from({ length: kOut }, (_, j) => sequenceOf(n, results.map((r) => r[j]!)));
});

defineOnnxOp('Optional', (n): OptionalOperand => ({ kind: 'optional', value: optionalContent(n, n.anyInput(0)) }));

defineOnnxOp('OptionalHasElement', (n) => {
  const x = n.anyInput(0);
  const has = x === undefined ? false : isContainer(x) && x.kind === 'optional' ? x.value !== undefined : true;
  return makeConst(`${n.name}:has`, 'bool', [], [has ? 1 : 0]);
});

defineOnnxOp('OptionalGetElement', (n) => {
  const x = n.anyInput(0) ?? n.fail('needs input 0, which is missing');
  if (isContainer(x) && x.kind === 'optional') return x.value ?? n.fail('gets the element of an empty optional');
  return x;
});

/** What an Optional node wraps: a tensor or a sequence (an optional of an optional is not ONNX). */
function optionalContent(n: OnnxNode, x: ImportValue | undefined): Operand | SequenceOperand | undefined {
  if (x && isContainer(x) && x.kind === 'optional') return n.fail('wraps an optional in an optional');
  return x;
}
