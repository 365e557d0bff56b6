import type { Value } from '../../ir/graph.js';
import { numel } from '../../ir/types.js';
import type { GradContext, GradRule } from './grad-context.js';
import { exprs } from './grad-exprs.js';

// grid_sample differentiated through its definition written in IR ops: per spatial axis the
// grid coordinate is denormalised and folded (border: clamped, reflection: mirrored), split into
// integer taps (zero gradient) and a fraction whose polynomial weights carry the gradient to the
// grid; each combination of taps is a gather_elements from the flattened input, whose rule
// scatter-adds the gradient into it. The steps follow the reference kernel's, mode by mode.

/** Keys' cubic weights (A = -0.75) of the four taps around fraction t, as polynomials in t. */
function cubicWeights(c: GradContext, t: Value): Value[] {
  const e = exprs(c, t);
  const a = -0.75;
  const far = (x: Value) => e.add(e.mul(e.add(e.mul(e.sub(e.mul(x, a), 5 * a), x), 8 * a), x), -4 * a);
  const near = (x: Value) => e.add(e.mul(e.mul(e.sub(e.mul(x, a + 2), a + 3), x), x), 1);
  return [far(e.add(t, 1)), near(t), near(e.sub(1, t)), far(e.sub(2, t))];
}

/** Mirrors x into [lo, lo + range] as the kernel's repeated reflection does: lo + range - |mod(x - lo, 2 range) - range|. */
function reflect(c: GradContext, x: Value, lo: number, range: number): Value {
  const e = exprs(c, x);
  return range === 0 ? e.v(lo) : e.sub(lo + range, c.emit('abs', [e.sub(c.emit('mod', [e.sub(x, lo), e.v(2 * range)]), range)]));
}

export const gridSample: GradRule = (c) => {
  const [x, grid] = c.inputs as [Value, Value];
  const mode = c.attr<string>('mode');
  const padding = c.attr<string>('padding_mode');
  const align = c.attr<boolean>('align_corners');
  const [n, channels, ...dims] = x.type.shape as number[];
  const r = dims.length;
  const outDims = grid.type.shape.slice(1, r + 1);
  const points = numel(outDims);
  const strides = dims.map((_, k) => numel(dims.slice(k + 1)));
  return c.decomposed(() => {
    const e = exprs(c, grid);
    const flat = c.emit('reshape', [x], { shape: [n!, channels!, numel(dims)] });
    const coords = c.emit('reshape', [grid], { shape: [n!, points, r] });
    // Per axis: the taps' input indices (as floats, exact small integers) and weights, each [N, P].
    const perAxis = dims.map((size, k) => {
      const g = c.emit('reshape', [c.emit('slice', [coords], { starts: [r - 1 - k], ends: [r - k], axes: [2] })], { shape: [n!, points] });
      const [lo, hi] = align ? [0, size - 1] : [-0.5, size - 0.5];
      let at = align ? e.mul(e.add(g, 1), (size - 1) / 2) : e.mul(e.sub(e.mul(e.add(g, 1), size), 1), 0.5);
      if (mode === 'nearest') at = c.emit('round', [at]);
      if (mode !== 'cubic' && padding === 'border') at = c.emit('clip', [at], { min: 0, max: size - 1 });
      if (mode !== 'cubic' && padding === 'reflection') at = reflect(c, at, lo, hi - lo);
      const base = c.emit('floor', [at]);
      const t = e.sub(at, base);
      const [offsets, weights] = mode === 'nearest' ? [[0], [undefined]] : mode === 'linear' ? [[0, 1], [e.sub(1, t), t]] : [[-1, 0, 1, 2], cubicWeights(c, t)];
      return offsets.map((o, j) => {
        const i = o === 0 ? base : e.add(base, o);
        if (padding === 'zeros') {
          const inside = c.emit('logical_and', [c.emit('greater_equal', [i, c.scalar(0, i)]), c.emit('less', [i, c.scalar(size, i)])]);
          const w = c.emit('where', [inside, weights[j] ?? c.scalar(1, i), c.scalar(0, i)]);
          return { index: c.emit('clip', [i], { min: 0, max: size - 1 }), weight: w };
        }
        const index = padding === 'border' ? c.emit('clip', [i], { min: 0, max: size - 1 }) : c.emit('floor', [e.add(reflect(c, i, lo, hi - lo), 0.5)]);
        return { index, weight: weights[j] };
      });
    });
    // Every combination of one tap per axis: a gather of the flattened input, weighted.
    let combos: { offset: Value | undefined; weight: Value | undefined }[] = [{ offset: undefined, weight: undefined }];
    perAxis.forEach((taps, k) => {
      combos = combos.flatMap((cmb) => taps.map((tap) => {
        const part = strides[k] === 1 ? tap.index : e.mul(tap.index, strides[k]!);
        const weight = !cmb.weight ? tap.weight : tap.weight ? e.mul(cmb.weight, tap.weight) : cmb.weight;
        return { offset: cmb.offset ? e.add(cmb.offset, part) : part, weight };
      }));
    });
    const terms = combos.map(({ offset, weight }) => {
      const index = c.emit('expand', [c.emit('reshape', [c.emit('cast', [offset!], { to: 'i32' })], { shape: [n!, 1, points] })], { shape: [n!, channels!, points] });
      const read = c.emit('gather_elements', [flat, index], { axis: 2 });
      return weight ? e.mul(read, c.emit('reshape', [weight], { shape: [n!, 1, points] })) : read;
    });
    const sum = terms.slice(1).reduce((a, b) => e.add(a, b), terms[0]!);
    return [c.emit('reshape', [sum], { shape: [n!, channels!, ...outDims] })];
  });
};
