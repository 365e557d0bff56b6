import type { Value } from '../../ir/graph.js';
import { filterTaps, insideCrop, linearTaps, nearestIndex, resizePlan, usesFilter, type ResizeAxisMap, type ResizePlan } from '../../ir/ops/resize.js';
import type { GradRule } from './grad-context.js';

// resize is linear in its input and separable: every plane is Y = Mh X Mw^T, where row o of an
// axis' matrix holds the weights output o gives the input indices along that axis (zero for
// outputs a crop extrapolates). The gradient is Mh^T dY Mw: two matmuls with constant
// matrices built from the same taps the reference kernel blends, for every mode.

/** The [out, in] weight matrix of one resized axis, flattened row-major. */
function axisMatrix(plan: ResizePlan, m: ResizeAxisMap, transposed: boolean): number[] {
  const w = new Array<number>(m.outSize * m.inSize).fill(0);
  const at = (o: number, i: number) => (transposed ? i * m.outSize + o : o * m.inSize + i);
  for (let o = 0; o < m.outSize; o++) {
    if (!insideCrop(m, o)) continue;
    if (plan.mode === 'nearest') {
      w[at(o, nearestIndex(m, o))] = 1;
    } else if (usesFilter(plan)) {
      const taps = filterTaps(plan, m, o);
      taps.index.forEach((i, k) => { w[at(o, i)]! += taps.weight[k]!; });
    } else {
      const t = linearTaps(m, o);
      w[at(o, t.i0)]! += 1 - t.frac;
      w[at(o, t.i1)]! += t.frac;
    }
  }
  return w;
}

const ATTRS = ['mode', 'scales', 'sizes', 'coordinate_transformation_mode', 'nearest_mode', 'cubic_coeff_a', 'exclude_outside', 'roi', 'extrapolation_value', 'antialias'];

export const resize: GradRule = (c) => {
  const x = c.inputs[0]!;
  const shape = x.type.shape;
  const plan = resizePlan(shape, Object.fromEntries(ATTRS.map((k) => [k, c.attr(k)])));
  const { h, w } = plan;
  const matrix = (rows: number, cols: number, values: number[]) => c.constant([rows, cols], values, x);
  // A vector resizes as one row.
  const planes = (v: Value, rows: number, cols: number) => (shape.length >= 2 ? v : c.emit('reshape', [v], { shape: [rows, cols] }));
  const rowsDone = c.emit('matmul', [planes(c.dy, 1, w.outSize), matrix(w.outSize, w.inSize, axisMatrix(plan, w, false))]);
  const dx = c.emit('matmul', [matrix(h.inSize, h.outSize, axisMatrix(plan, h, true)), rowsDone]);
  return [shape.length >= 2 ? dx : c.emit('reshape', [dx], { shape: [...shape] })];
};
