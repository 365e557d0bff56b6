import { KilnError } from '../../ir/errors.js';
import { apply } from './tensor-apply.js';
import { Tensor } from './tensor-core.js';

// Tensor methods that reduce: sums, means, extrema, argmax, softmax.

/** Reduction options, as PyTorch's `dim` and `keepdim`. */
export interface ReduceOptions {
  readonly dim?: number | readonly number[];
  readonly keepdim?: boolean;
}

/**
 * A reduction's dims, as PyTorch takes them: `x.sum(1)`, `x.sum([0, 2], true)`, or
 * `x.sum({ dim: 1, keepdim: true })`. An object with other keys (numpy's `axis`) is refused
 * rather than read as "every dimension".
 */
export type DimArg = number | readonly number[] | ReduceOptions;

/** The options a reduction was given, however it was given them (see DimArg); `extra` names the other keys it takes. */
export function reduceOptions<T extends ReduceOptions = ReduceOptions>(method: string, dim: DimArg | T | undefined, keepdim: boolean | undefined, extra: readonly string[] = []): T {
  if (dim === undefined || typeof dim === 'number' || Array.isArray(dim)) return { ...(dim !== undefined ? { dim: dim as number | readonly number[] } : {}), ...(keepdim !== undefined ? { keepdim } : {}) } as T;
  if (typeof dim !== 'object' || dim === null) throw new KilnError(`${method}(): dim must be a number, an array of numbers or { dim, keepdim }, got ${dim === null ? 'null' : typeof dim}`);
  const known = ['dim', 'keepdim', ...extra];
  const unknown = Object.keys(dim).filter((k) => !known.includes(k));
  if (unknown.length) throw new KilnError(`${method}(): unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; it takes ${known.join(', ')} (as PyTorch: ${method}(1) or ${method}({ dim: 1, keepdim: true }))`);
  if (keepdim !== undefined) throw new KilnError(`${method}(): give keepdim once, in the options object or after dim`);
  return dim as T;
}

/** Reduces `x` with the reduction op `op` over the dims given (every one when none). */
export function reduce(op: string, x: Tensor, dim: DimArg | undefined, keepdim: boolean | undefined): Tensor {
  const opts = reduceOptions(op, dim, keepdim);
  const axes = opts.dim === undefined ? [] : typeof opts.dim === 'number' ? [opts.dim] : [...opts.dim];
  return apply(op, [x], { axes, keepdims: opts.keepdim ?? false });
}

/** The methods this file adds to Tensor (exported so that their declarations name Tensor). */
export const reductionMethods = {
  /** Sums over `dim` (every dimension when absent): `x.sum()`, `x.sum(1)`, `x.sum([0, 2], true)`, `x.sum({ dim: 1, keepdim: true })`. */
  sum(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('sum', this, dim, keepdim); },
  /** Means over `dim` (every dimension when absent), as sum takes it. */
  mean(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('mean', this, dim, keepdim); },
  /** Maximum values over `dim` (every dimension when absent), as sum takes it; the values only, not PyTorch's (values, indices). */
  max(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('max', this, dim, keepdim); },
  /** Minimum values over `dim` (every dimension when absent), as sum takes it; the values only. */
  min(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('min', this, dim, keepdim); },
  /** Index (i32) of the maximum along `dim` (`x.argmax(1)`, `x.argmax({ dim: 1 })`); of the flattened tensor when `dim` is absent. */
  argmax(this: Tensor, dim?: number | { dim?: number; keepdim?: boolean }, keepdim?: boolean): Tensor {
    const opts = reduceOptions('argmax', dim, keepdim);
    if (Array.isArray(opts.dim)) throw new KilnError('argmax(): dim must be one number');
    if (opts.dim === undefined) return apply('argmax', [this.reshape(-1)], { axis: 0, keepdims: false });
    return apply('argmax', [this], { axis: opts.dim as number, keepdims: opts.keepdim ?? false });
  },
  softmax(this: Tensor, dim: number): Tensor { return apply('softmax', [this], { axis: dim }); },
  logSoftmax(this: Tensor, dim: number): Tensor { return apply('log_softmax', [this], { axis: dim }); },
};

type ReductionMethods = typeof reductionMethods;

declare module './tensor-core.js' {
  interface Tensor extends ReductionMethods {}
}

Object.assign(Tensor.prototype, reductionMethods);
