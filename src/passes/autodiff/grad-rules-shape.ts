import type { Value } from '../../ir/graph.js';
import type { OpTable } from '../../ir/ops/index.js';
import { concatLayout, splitLayout } from '../../ir/ops/concat-split.js';
import { padAmounts, padSourceIndex, sliceAxes, type PadMode } from '../../ir/ops/slice-pad.js';
import type { GradContext, GradRule } from './grad-context.js';

// Gradient rules of the ops that move elements: concat, split, slice, pad, channel_shuffle and
// transfer. Where each output element copies one input element chosen by the static geometry,
// the gradient along an axis is a product with the transposed 0/1 selection matrix, which sums
// the copies (reflect padding, strided slices) exactly and runs as a matmul on the device.

/**
 * Applies, along `axis` of `v` (extent `rows`), the transpose of the selection `source(o)`
 * (the input index output o copies, or -1): the result has extent `cols` there.
 */
function gatherBackAlong(c: GradContext, v: Value, axis: number, cols: number, source: (o: number) => number): Value {
  const shape = v.type.shape;
  const rows = shape[axis]!;
  const m = new Array<number>(rows * cols).fill(0);
  for (let o = 0; o < rows; o++) if (source(o) >= 0) m[o * cols + source(o)] = 1;
  const perm = [...shape.keys()].filter((i) => i !== axis).concat(axis);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const others = perm.slice(0, -1).map((i) => shape[i]!);
  const flat = c.emit('reshape', [c.emit('transpose', [v], { perm })], { shape: [others.reduce((a, b) => a * b, 1), rows] });
  const moved = c.emit('matmul', [flat, c.constant([rows, cols], m, v)]);
  return c.emit('transpose', [c.emit('reshape', [moved], { shape: [...others, cols] })], { perm: inverse });
}

const concat: GradRule = (c) => {
  const { axis, offsets } = concatLayout(c.inputs.map((x) => x.type.shape), c.attr<number>('axis'));
  return c.inputs.map((x, i) => c.emit('slice', [c.dy], { starts: [offsets[i]!], ends: [offsets[i]! + x.type.shape[axis]!], axes: [axis] }));
};

/** split: the results' gradients side by side again (zeros for results no gradient reached). */
const split: GradRule = (c) => {
  const { axis } = splitLayout(c.inputs[0]!.type.shape, c.attr<number>('axis'), c.attr<number[]>('sizes'));
  const parts = c.outputs.map((y, i) => c.dys[i] ?? c.zeros(y.type.shape, y));
  return [parts.length === 1 ? parts[0]! : c.emit('concat', parts, { axis })];
};

/** slice: dy back in place, zeros elsewhere: a zero pad for unit steps, a selection matrix for the others. */
const slice: GradRule = (c) => {
  const x = c.inputs[0]!;
  const shape = x.type.shape;
  const geometry = sliceAxes(shape, c.attr('starts'), c.attr('ends'), c.attr('axes'), c.attr('steps'));
  const unit = (i: number) => geometry[i]!.step === 1;
  const pads = [...geometry.map((a, i) => (unit(i) ? a.start : 0)), ...geometry.map((a, i) => (unit(i) ? shape[i]! - a.start - a.length : 0))];
  let dx = pads.some((p) => p !== 0) ? c.emit('pad', [c.dy], { pads }) : c.dy;
  geometry.forEach((a, i) => {
    if (!unit(i)) dx = gatherBackAlong(c, dx, i, shape[i]!, (o) => a.start + o * a.step);
  });
  return [dx];
};

/**
 * pad: a constant pad's gradient is dy cropped back (pad by the negated amounts, which also
 * zero-fills where the forward pad cropped); reflect and edge add each copy back onto its source.
 */
const pad: GradRule = (c) => {
  const x = c.inputs[0]!;
  const pads = c.attr<number[]>('pads');
  const mode = c.attr<string>('mode');
  c.attr('value'); // the fill value is a constant: no gradient
  if (mode === 'constant') return [c.emit('pad', [c.dy], { pads: pads.map((p) => -p) })];
  if (mode !== 'reflect' && mode !== 'edge') c.refuse('mode', 'the rule knows constant, reflect and edge');
  const { begin } = padAmounts(x.type.shape, pads, mode);
  let dx = c.dy;
  x.type.shape.forEach((d, i) => {
    if (dx.type.shape[i] !== d || begin[i] !== 0) dx = gatherBackAlong(c, dx, i, d, (o) => padSourceIndex(o - begin[i]!, d, mode as PadMode));
  });
  return [dx];
};

/** A shuffle of C channels in g groups is undone by the shuffle in C/g groups. */
const channelShuffle: GradRule = (c) => {
  const channels = c.inputs[0]!.type.shape[1]!;
  return [c.emit('channel_shuffle', [c.dy], { groups: channels / c.attr<number>('groups') })];
};

/** transfer: the gradient travels back to the operand's device. */
const transfer: GradRule = (c) => [c.emitAll('transfer', [c.dy], {}, c.inputs[0]!.type.device)[0]];

export const shapeGradRules: OpTable<GradRule> = {
  concat,
  split,
  slice,
  pad,
  channel_shuffle: channelShuffle,
  transfer,
};
