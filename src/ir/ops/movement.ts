import { OpTypeError } from '../errors.js';
import { numel } from '../types.js';
import { defineOp } from './registry.js';
import { broadcastShapes, largest, normalizeAxes } from './shape-util.js';
import { dExactDiv, dimsEqual, dimText, dNumel, isSymbolic, type Dim } from '../size-expr.js';

/** Permutation of a transpose: the given one, or all axes reversed. */
export function transposePerm(rank: number, perm: readonly number[]): number[] {
  if (perm.length === 0) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    throw new OpTypeError(`perm [${perm.join(',')}] is not a permutation of ${rank} axes`);
  }
  return [...perm];
}

/** transpose's attributes. */
export const transposeAttrs = { perm: { kind: 'ints', default: [] } } as const;

defineOp({
  name: 'transpose', kind: 'movement', inputs: 1, strings: true,
  attrs: transposeAttrs,
  infer: ([x], attrs) => {
    const perm = transposePerm(x!.shape.length, attrs.perm);
    return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }];
  },
});

/** Target shape of a reshape: at most one -1, inferred from the element count. */
export function resolveReshape(from: readonly number[], to: readonly number[]): number[] {
  const n = numel(from);
  const holes = to.filter((d) => d === -1).length;
  if (holes > 1) throw new OpTypeError(`shape [${to.join(',')}] has more than one -1`);
  if (to.some((d) => d < -1)) throw new OpTypeError(`shape [${to.join(',')}] has a negative extent`);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (numel(out) !== n || out.some((d) => !Number.isInteger(d))) {
    throw new OpTypeError(`cannot reshape [${from.join(',')}] (${n} elements) to [${to.join(',')}]`);
  }
  return out;
}

/**
 * resolveReshape of symbolic extents: the -1 takes the element count divided by the rest, which
 * must divide it for every size; without a -1 the counts must agree for every size.
 */
export function resolveReshapeDims(from: readonly Dim[], to: readonly number[]): Dim[] {
  const n = dNumel(from);
  const shown = `[${from.map(dimText).join(',')}]`;
  if (!to.includes(-1)) {
    if (!dimsEqual(n, numel(to))) throw new OpTypeError(`cannot reshape ${shown} to [${to.join(',')}] for every size (give -1 for the extent that varies)`);
    return [...to];
  }
  resolveReshape(largest(from), to);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const hole = dExactDiv(n, known);
  if (hole === undefined) throw new OpTypeError(`cannot reshape ${shown} to [${to.join(',')}]: ${known} does not divide ${dimText(n)} for every size`);
  return to.map((d) => (d === -1 ? hole : d));
}

/**
 * reshape's attributes. `copy` lists positions whose extent is the input's at the same position
 * (ONNX Reshape's 0): how a target keeps extents that vary from run to run, e.g.
 * `{shape = [0, 0, 2, 4], copy = [0, 1]}` splits the last axis of [B,T,8].
 */
export const reshapeAttrs = { shape: { kind: 'ints' }, copy: { kind: 'ints', default: [] } } as const;

/** The target with its `copy` positions filled from the input's extents. */
function reshapeTarget<D extends Dim>(from: readonly D[], shape: readonly number[], copy: readonly number[]): (number | D)[] {
  for (const i of copy) {
    if (!Number.isInteger(i) || i < 0 || i >= shape.length || i >= from.length) throw new OpTypeError(`copy position ${i} is outside the target [${shape.join(',')}] or the input's rank ${from.length}`);
  }
  return shape.map((d, i) => (copy.includes(i) ? from[i]! : d));
}

/** resolveReshapeDims with copied extents (any of which may vary). */
function reshapeDims(from: readonly Dim[], shape: readonly number[], copy: readonly number[]): Dim[] {
  const target = reshapeTarget(from, shape, copy);
  const fixed = target.map((d) => (typeof d === 'number' ? d : -2));
  if (!fixed.includes(-2)) return resolveReshapeDims(from, fixed);
  // Copied extents that vary divide out of the element count first: they are the input's own
  // factors at those positions, so the rest is the product of the input's other extents (exact
  // even where an extent is a sum, as a cache's P+1 is).
  const rest = dNumel(from.filter((d, i) => !(copy.includes(i) && isSymbolic(d))));
  const inner = resolveReshapeDims([rest], fixed.filter((d) => d !== -2));
  let k = 0;
  return target.map((d) => (isSymbolic(d) ? d : inner[k++]!));
}

defineOp({
  name: 'reshape', kind: 'movement', inputs: 1, strings: true, aliasesInput: true,
  attrs: reshapeAttrs,
  infer: ([x], attrs) => [{ dtype: x!.dtype, shape: resolveReshape(x!.shape, reshapeTarget(x!.shape, attrs.shape, attrs.copy)) }],
  dims: ([x], attrs) => [reshapeDims(x!, attrs.shape, attrs.copy)],
});

/** ONNX Flatten: dims before `axis` become the first extent, the rest the second (always 2-D). */
export function flattenShape(shape: readonly number[], axis: number): number[] {
  const rank = shape.length;
  if (axis < -rank || axis > rank) throw new OpTypeError(`axis ${axis} is out of range for flattening rank ${rank} (allowed ${-rank}..${rank})`);
  const a = axis < 0 ? axis + rank : axis;
  return [numel(shape.slice(0, a)), numel(shape.slice(a))];
}

defineOp({
  name: 'flatten', kind: 'movement', inputs: 1, strings: true, aliasesInput: true,
  attrs: { axis: { kind: 'int', default: 1 } },
  infer: ([x], attrs) => [{ dtype: x!.dtype, shape: flattenShape(x!.shape, attrs.axis) }],
  dims: ([x], attrs) => {
    flattenShape(largest(x!), attrs.axis);
    const a = attrs.axis < 0 ? attrs.axis + x!.length : attrs.axis;
    return [[dNumel(x!.slice(0, a)), dNumel(x!.slice(a))]];
  },
});

/** Shape after removing `axes` (all size-1 dims when empty); each named axis must have extent 1. */
export function squeezeShape(shape: readonly number[], axes: readonly number[]): number[] {
  const drop = axes.length ? normalizeAxes(axes, shape.length) : shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of drop) {
    if (shape[a] !== 1) throw new OpTypeError(`cannot squeeze axis ${a} of [${shape.join(',')}]: its extent is ${shape[a]}, not 1`);
  }
  return shape.filter((_, i) => !drop.includes(i));
}

defineOp({
  name: 'squeeze', kind: 'movement', inputs: 1, strings: true, aliasesInput: true,
  attrs: { axes: { kind: 'ints', default: [] } },
  infer: ([x], attrs) => [{ dtype: x!.dtype, shape: squeezeShape(x!.shape, attrs.axes) }],
});

/** Shape after inserting size-1 dims at `axes`, which are positions in the output (negative from its end). */
export function unsqueezeShape(shape: readonly number[], axes: readonly number[]): number[] {
  if (axes.length === 0) throw new OpTypeError('needs at least one axis to insert');
  const rank = shape.length + axes.length;
  const at = new Set(normalizeAxes(axes, rank));
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : shape[k++]!);
  return out;
}

defineOp({
  name: 'unsqueeze', kind: 'movement', inputs: 1, strings: true, aliasesInput: true,
  attrs: { axes: { kind: 'ints' } },
  infer: ([x], attrs) => [{ dtype: x!.dtype, shape: unsqueezeShape(x!.shape, attrs.axes) }],
});

/**
 * ONNX Expand: the input broadcast against `shape` in both directions, so a 1 in `shape` keeps
 * the input's extent and `shape` may have a lower rank than the input.
 */
export function expandShape(shape: readonly number[], target: readonly number[]): number[] {
  if (target.some((d) => d < 0)) throw new OpTypeError(`target shape [${target.join(',')}] has a negative extent (use 1 to keep a dimension)`);
  return broadcastShapes([shape, target]);
}

defineOp({
  name: 'expand', kind: 'movement', inputs: 1, strings: true,
  attrs: { shape: { kind: 'ints' } },
  infer: ([x], attrs) => [{ dtype: x!.dtype, shape: expandShape(x!.shape, attrs.shape) }],
});

/**
 * Element strides of a channel shuffle read in the output's coordinates viewed as
 * [N, C/g, g, rest] (rest = product of the dims after C): output channel a*g + b takes input
 * channel b*(C/g) + a. Returns that 4-D view's shape and the input's strides over it.
 */
export function channelShuffleView(shape: readonly number[], groups: number): { shape: number[]; inStrides: number[] } {
  if (shape.length < 2) throw new OpTypeError(`needs a [N, C, ...] input, got rank ${shape.length}`);
  const [n, c] = shape as [number, number];
  if (!(groups >= 1) || c % groups !== 0) throw new OpTypeError(`${c} channels do not split into ${groups} groups`);
  const rest = numel(shape.slice(2));
  const perGroup = c / groups;
  return { shape: [n, perGroup, groups, rest], inStrides: [c * rest, rest, perGroup * rest, 1] };
}

/** channel_shuffle's attributes. */
export const channelShuffleAttrs = { groups: { kind: 'int' } } as const;

defineOp({
  name: 'channel_shuffle', kind: 'movement', inputs: 1,
  attrs: channelShuffleAttrs,
  infer: ([x], attrs) => {
    channelShuffleView(x!.shape, attrs.groups);
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
});
