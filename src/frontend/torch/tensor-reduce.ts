import { apply } from './tensor-apply.js';
import { Tensor } from './tensor-core.js';

// Tensor methods that reduce: sums, means, extrema, argmax, softmax.

/** Reduction options, as PyTorch's `dim` and `keepdim`. */
export interface ReduceOptions {
  readonly dim?: number | readonly number[];
  readonly keepdim?: boolean;
}

function reduce(op: string, x: Tensor, opts: ReduceOptions): Tensor {
  const axes = opts.dim === undefined ? [] : typeof opts.dim === 'number' ? [opts.dim] : [...opts.dim];
  return apply(op, [x], { axes, keepdims: opts.keepdim ?? false });
}

/** The methods this file adds to Tensor (exported so that their declarations name Tensor). */
export const reductionMethods = {
  sum(this: Tensor, opts: ReduceOptions = {}): Tensor { return reduce('sum', this, opts); },
  mean(this: Tensor, opts: ReduceOptions = {}): Tensor { return reduce('mean', this, opts); },
  /** Maximum values over `dim` (every dimension when absent). */
  max(this: Tensor, opts: ReduceOptions = {}): Tensor { return reduce('max', this, opts); },
  /** Minimum values over `dim` (every dimension when absent). */
  min(this: Tensor, opts: ReduceOptions = {}): Tensor { return reduce('min', this, opts); },
  /** Index (i32) of the maximum along `dim`; of the flattened tensor when `dim` is absent. */
  argmax(this: Tensor, opts: { dim?: number; keepdim?: boolean } = {}): Tensor {
    if (opts.dim === undefined) return apply('argmax', [this.reshape(-1)], { axis: 0, keepdims: false });
    return apply('argmax', [this], { axis: opts.dim, keepdims: opts.keepdim ?? false });
  },
  softmax(this: Tensor, dim: number): Tensor { return apply('softmax', [this], { axis: dim }); },
  logSoftmax(this: Tensor, dim: number): Tensor { return apply('log_softmax', [this], { axis: dim }); },
};

type ReductionMethods = typeof reductionMethods;

declare module './tensor-core.js' {
  interface Tensor extends ReductionMethods {}
}

Object.assign(Tensor.prototype, reductionMethods);
