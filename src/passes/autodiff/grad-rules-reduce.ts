import type { Value } from '../../ir/graph.js';
import type { OpTable } from '../../ir/ops/index.js';
import { normalizeAxes } from '../../ir/ops/shape-util.js';
import { numel } from '../../ir/types.js';
import { DEVICE_EXPANSION_LIMIT, type GradContext, type GradRule } from './grad-context.js';

// Gradient rules of the reductions that select or multiply (max, min, prod), of the scans
// (cumsum, cumprod) and of top_k. Products are differentiated without dividing by the operand,
// so zeros in it give the exact gradient, as PyTorch's do.

/** The axes a reduction reduced (all for an empty list); keepdims does not change the gradient. */
export function reducedAxes(c: GradContext): number[] {
  const rank = c.inputs[0]!.type.shape.length;
  const axes = c.attr<number[]>('axes');
  c.attr('keepdims');
  return axes.length ? normalizeAxes(axes, rank) : Array.from({ length: rank }, (_, i) => i);
}

/** The permutation moving `axes` (in order) behind the other axes, and its inverse. */
function axesLast(rank: number, axes: readonly number[]): { perm: number[]; inverse: number[] } {
  const perm = [...Array.from({ length: rank }, (_, i) => i).filter((i) => !axes.includes(i)), ...axes];
  return { perm, inverse: perm.map((_, i) => perm.indexOf(i)) };
}

/** A constant bool [n, n] matrix, true at (j, i) where `holds`, on `like`'s device. */
function square(c: GradContext, n: number, like: Value, holds: (j: number, i: number) => boolean): Value {
  return c.constant([n, n], Array.from({ length: n * n }, (_, k) => (holds(Math.floor(k / n), k % n) ? 1 : 0)), like, 'bool');
}

const diagonal = (c: GradContext, n: number, like: Value) => square(c, n, like, (j, i) => i === j);

/**
 * max/min: dy goes to the elements equal to the result, split evenly between ties (as
 * torch.amax/amin, which ONNX ReduceMax/Min match). A NaN result matches no element: zeros.
 */
const extreme: GradRule = (c) => {
  const x = c.inputs[0]!;
  const axes = reducedAxes(c);
  const hit = c.emit('equal', [x, c.expandOver(c.outputs[0]!, axes, x.type.shape)]);
  const count = c.emit('sum', [c.emit('cast', [hit], { to: x.type.dtype })], { axes, keepdims: false });
  const dy = c.emit('reshape', [c.dy], { shape: [...count.type.shape] }); // without keepdims' ones
  const share = c.expandOver(c.emit('div', [dy, count]), axes, x.type.shape);
  return [c.emit('where', [hit, share, c.scalar(0, c.dy)])];
};

/**
 * prod: d/dx_j = dy * (product of the other elements), over the reduced elements moved to one
 * trailing axis of extent r. On the device: the prod of the [r, r] copies with x_j replaced by 1;
 * where that is too large, (exclusive product before j) * (exclusive product after j), two CPU scans.
 */
const prod: GradRule = (c) => {
  const x = c.inputs[0]!;
  const shape = x.type.shape;
  const axes = reducedAxes(c);
  const { perm, inverse } = axesLast(shape.length, axes);
  const keptShape = perm.slice(0, perm.length - axes.length).map((i) => shape[i]!);
  const axis = keptShape.length;
  const r = numel(axes.map((a) => shape[a]!));
  const flat = c.emit('reshape', [c.emit('transpose', [x], { perm })], { shape: [...keptShape, r] });
  let others: Value;
  if (numel(keptShape) * r * r <= DEVICE_EXPANSION_LIMIT) {
    const spread = c.emit('expand', [c.emit('reshape', [flat], { shape: [...keptShape, 1, r] })], { shape: [...keptShape, r, r] });
    const withOne = c.emit('where', [diagonal(c, r, x), c.scalar(1, x), spread]);
    others = c.emit('prod', [withOne], { axes: [axis + 1], keepdims: false });
  } else {
    others = c.emit('mul', [c.emit('cumprod', [flat], { axis, exclusive: true }), c.emit('cumprod', [flat], { axis, exclusive: true, reverse: true })]);
  }
  const dy = c.emit('reshape', [c.dy], { shape: [...keptShape, 1] });
  const d = c.emit('mul', [others, dy]);
  const unflat = c.emit('reshape', [d], { shape: perm.map((i) => shape[i]!) });
  return [c.emit('transpose', [unflat], { perm: inverse })];
};

/** cumsum: each x_j feeds the outputs after it (before it when reversed): a scan the other way. */
const cumsum: GradRule = (c) => [c.emit('cumsum', [c.dy], { axis: c.attr('axis'), exclusive: c.attr('exclusive'), reverse: !c.attr<boolean>('reverse') })];

/**
 * cumprod: d y_i / d x_j is the product of the scanned elements before i other than x_j. For each
 * j, the scan of the operand with x_j replaced by 1 gives those products for every i at once
 * (an [n, n] scan per line, O(n^2) work, exact with zeros); a mask keeps the outputs i that
 * depend on x_j, and the sum over i weighted by dy is the gradient.
 */
const cumprod: GradRule = (c) => {
  const x = c.inputs[0]!;
  const shape = x.type.shape;
  const axis = normalizeAxes([c.attr<number>('axis')], shape.length)[0]!;
  const exclusive = c.attr<boolean>('exclusive');
  const reverse = c.attr<boolean>('reverse');
  const n = shape[axis]!;
  const { perm, inverse } = axesLast(shape.length, [axis]);
  const lines = perm.slice(0, -1).map((i) => shape[i]!);
  const row = (v: Value) => c.emit('reshape', [c.emit('transpose', [v], { perm })], { shape: [...lines, 1, n] });
  const spread = c.emit('expand', [row(x)], { shape: [...lines, n, n] });
  const withOne = c.emit('where', [diagonal(c, n, x), c.scalar(1, x), spread]);
  const scans = c.emit('cumprod', [withOne], { axis: lines.length + 1, exclusive, reverse });
  const depends = square(c, n, x, (j, i) => (reverse ? (exclusive ? i < j : i <= j) : exclusive ? i > j : i >= j));
  const terms = c.emit('where', [depends, c.emit('mul', [scans, row(c.dy)]), c.scalar(0, x)]);
  const dxt = c.emit('sum', [terms], { axes: [lines.length + 1], keepdims: false });
  return [c.emit('transpose', [dxt], { perm: inverse })];
};

/** top_k: each selected value's gradient goes back to where it was taken from. */
const topK: GradRule = (c) => {
  const x = c.inputs[0]!;
  c.attr('k');
  c.attr('largest');
  return [c.emit('scatter_elements', [c.zeros(x.type.shape, x), c.outputs[1]!, c.dy], { axis: c.attr('axis'), reduction: 'add' })];
};

export const reduceGradRules: OpTable<GradRule> = {
  max: extreme,
  min: extreme,
  prod,
  cumsum,
  cumprod,
  top_k: topK,
};
