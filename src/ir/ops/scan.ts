// Scans and selections along one axis: cumulative sums and products, and the k largest or
// smallest elements. Each output element depends on a whole run of the axis, in order; their
// GPU kernels walk each run in one invocation (codegen/kernels/scan-select.ts).
import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat, type DType } from '../types.js';
import { defineOp } from './registry.js';
import { normalizeAxes } from './shape-util.js';

/** How each cumulative op folds the next element in, and where it starts (an exclusive scan's first element). */
export const SCANS: Readonly<Record<string, { readonly init: number; readonly step: (acc: number, x: number, dtype: DType) => number }>> = {
  cumsum: { init: 0, step: (acc, x) => acc + x },
  cumprod: { init: 1, step: (acc, x, d) => (isFloat(d) ? acc * x : Math.imul(acc, x)) },
};

/** The attributes of cumsum and cumprod. */
export const scanAttrs = { axis: { kind: 'int' }, exclusive: { kind: 'bool', default: false }, reverse: { kind: 'bool', default: false } } as const;

// ONNX CumSum / CumProd: y[i] folds x[0..i] along `axis` (x[0..i-1] when exclusive; from the
// end of the axis when reverse). Integers wrap as 32-bit arithmetic does.
for (const name of Object.keys(SCANS)) {
  defineOp({
    name, kind: 'opaque', inputs: 1,
    attrs: scanAttrs,
    infer: ([x], attrs) => {
      if (x!.dtype === 'bool') throw new OpTypeError('does not take bool (cast it first)');
      if (x!.shape.length === 0) throw new OpTypeError('needs an input of rank at least 1, got a scalar');
      normalizeAxes([attrs.axis], x!.shape.length);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  });
}

/** top_k's attributes. */
export const topKAttrs = { axis: { kind: 'int', default: -1 }, k: { kind: 'int' }, largest: { kind: 'bool', default: true } } as const;

/**
 * ONNX TopK: the k largest (or smallest) elements along `axis`, in order, and their indices
 * (i32). Equal elements keep their order (the lower index first); NaN ranks above every number,
 * as in NumPy's sort, so it comes first when largest and last when smallest.
 */
defineOp({
  name: 'top_k', kind: 'opaque', inputs: 1,
  attrs: topKAttrs,
  infer: ([x], attrs) => {
    if (x!.dtype === 'bool') throw new OpTypeError('does not take bool (cast it first)');
    if (x!.shape.length === 0) throw new OpTypeError('needs an input of rank at least 1, got a scalar');
    const [a] = normalizeAxes([attrs.axis], x!.shape.length);
    const k = attrs.k;
    if (k < 0 || k > x!.shape[a!]!) throw new OpTypeError(`k ${k} must be between 0 and the extent ${x!.shape[a!]} of axis ${a} of ${formatShapeType(x!.dtype, x!.shape)}`);
    const shape = x!.shape.map((d, i) => (i === a ? k : d));
    return [{ dtype: x!.dtype, shape }, { dtype: 'i32', shape }];
  },
});
