import { getOp } from '../../../ir/ops/index.js';
import { ARG_REDUCTIONS, argReduceAttrs, identityIn, reduceAttrs } from '../../../ir/ops/reduce.js';
import { normalizeAxes } from '../../../ir/ops/shape-util.js';
import { axisRows } from '../../../ir/ops/softmax.js';
import { numel, stridesOf } from '../../../ir/types.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValue } from './values.js';
import { attrsOf } from '../../../ir/attrs.js';

/** Any op with reduction math, over any axes, accumulating in double precision. */
export const reduction: CpuKernel = (node, [x]) => {
  const red = getOp(node.op).spec.reduce!;
  const out = alloc(node.output.type);
  const rank = x!.shape.length;
  const { axes: named } = attrsOf(node, reduceAttrs);
  const axes = named.length ? normalizeAxes(named, rank) : x!.shape.map((_, i) => i);
  const kept = x!.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const strides = stridesOf(x!.shape);
  const keptShape = kept.map((i) => x!.shape[i]!);
  const redShape = axes.map((i) => x!.shape[i]!);
  const count = numel(redShape);
  const init = identityIn(red.init, x!.dtype);
  const xs = hostValues(x!);
  const inner: number[] = [];
  forEachIndex(redShape, [axes.map((i) => strides[i]!)], (_, [o]) => inner.push(o!));
  forEachIndex(keptShape, [kept.map((i) => strides[i]!)], (i, [base]) => {
    let acc = init;
    for (const o of inner) acc = red.cpu(acc, xs[base! + o]!, x!.dtype);
    storeValue(out, i, red.finish ? red.finish.cpu(acc, count) : acc);
  });
  return [out];
};

/**
 * argmax/argmin along one axis: the index of the extreme, NaN being more extreme than any
 * number; of equals the first, or the last with select_last_index.
 */
const argReduction: CpuKernel = (node, [x]) => {
  const pick = ARG_REDUCTIONS[node.op]!;
  const last = node.attrs.select_last_index === true;
  /** Whether `v` is strictly more extreme than `w`. */
  const beats = (v: number, w: number) => (pick === 'max' ? v > w : v < w) || (Number.isNaN(v) && !Number.isNaN(w));
  const out = alloc(node.output.type);
  const { rows, extent, inner } = axisRows(x!.shape, attrsOf(node, argReduceAttrs).axis);
  const xs = hostValues(x!);
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / inner) * extent * inner + (r % inner);
    let best = xs[base]!;
    let at = 0;
    for (let j = 1; j < extent; j++) {
      const v = xs[base + j * inner]!;
      if (last ? !beats(best, v) : beats(v, best)) { best = v; at = j; }
    }
    out.data[r] = at;
  }
  return [out];
};

export const reduceKernels: Record<string, CpuKernel> = Object.fromEntries(Object.keys(ARG_REDUCTIONS).map((op) => [op, argReduction]));
