import { KilnError } from '../../ir/errors.js';
import { normDim } from './dims.js';
import { apply, applyMulti, binary } from './tensor-apply.js';
import { Tensor } from './tensor-core.js';
import { reduce, reduceOptions, type DimArg, type ReduceOptions } from './tensor-reduce.js';

// Tensor methods that pick elements by index or rank, scan, and summarise spread, each as
// PyTorch names and takes it: gather, indexSelect, topk, sort, cumsum, argmin, prod, amax,
// var, std, logsumexp, norm, any, all. Each is one IR op, or a few (var, logsumexp, norm), so
// each runs wherever its ops do and differentiates through them.

/** topk's and sort's result: `[values, indices]`, also as PyTorch's named fields. */
export type ValuesIndices = [Tensor, Tensor] & { readonly values: Tensor; readonly indices: Tensor };

/** var's and std's options: PyTorch's `correction` (default 1, Bessel's), or `unbiased: false` for 0. */
export interface VarOptions extends ReduceOptions {
  readonly correction?: number;
  readonly unbiased?: boolean;
}

function valuesIndices([values, indices]: Tensor[]): ValuesIndices {
  return Object.assign([values!, indices!] as [Tensor, Tensor], { values: values!, indices: indices! });
}

/** The dims a reduction runs over, normalised (every one when none is given). */
function reducedDims(x: Tensor, opts: ReduceOptions): number[] {
  const r = x.shape.length;
  if (opts.dim === undefined) return x.shape.map((_, i) => i);
  return (typeof opts.dim === 'number' ? [opts.dim] : [...opts.dim]).map((d) => normDim(d, r));
}

/** The variance over `dim`, as PyTorch's var: the sum of squared deviations over (n - correction). */
function variance(x: Tensor, dim: DimArg | VarOptions | undefined, keepdim: boolean | undefined, method: string): Tensor {
  const opts = reduceOptions<VarOptions>(method, dim, keepdim, ['correction', 'unbiased']);
  if (opts.correction !== undefined && opts.unbiased !== undefined) throw new KilnError(`${method}(): give correction or unbiased, not both`);
  const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
  const dims = reducedDims(x, opts);
  const n = dims.reduce((p, d) => p * x.shape[d]!, 1);
  const d = x.sub(x.mean(dims, true));
  // PyTorch divides by max(0, n - correction): a single element with correction 1 gives inf (or NaN for 0/0).
  return d.mul(d).sum(dims, opts.keepdim ?? false).div(Math.max(0, n - correction));
}

/** 1 where `x` is nonzero (true), else 0, as int32: what any and all reduce. */
function nonzero(x: Tensor): Tensor {
  return (x.dtype === 'bool' ? x : x.ne(0)).int();
}

/** The methods this file adds to Tensor (exported so that their declarations name Tensor). */
export const selectionMethods = {
  /** out[i][j] = x[i][index[i][j]] for dim 1 (and so on), as torch.gather; `index` is int32 (or int64, stored so). */
  gather(this: Tensor, dim: number, index: Tensor): Tensor {
    return apply('gather_elements', [this, index], { axis: normDim(dim, this.shape.length) });
  },
  /** The slices along `dim` at the indices of the 1-D `index`, as torch.index_select. */
  indexSelect(this: Tensor, dim: number, index: Tensor): Tensor {
    if (index.shape.length !== 1) throw new KilnError(`indexSelect(): index must be 1-D, got shape [${index.shape.join(',')}]`);
    return apply('gather', [this, index], { axis: normDim(dim, this.shape.length) });
  },
  /** The k largest (or smallest) elements along `dim` (default the last) and their indices, in order; ties keep the lower index first. */
  topk(this: Tensor, k: number, dim = -1, largest = true): ValuesIndices {
    return valuesIndices(applyMulti('top_k', [this], { axis: normDim(dim, this.shape.length), k, largest }));
  },
  /** The elements along `dim` (default the last) sorted ascending (or descending) and their indices; equal elements keep their order. */
  sort(this: Tensor, dim = -1, descending = false): ValuesIndices {
    const d = normDim(dim, this.shape.length);
    return valuesIndices(applyMulti('top_k', [this], { axis: d, k: this.shape[d] ?? 1, largest: descending }));
  },
  /** Cumulative sums along `dim`, as torch.cumsum. */
  cumsum(this: Tensor, dim: number): Tensor { return apply('cumsum', [this], { axis: normDim(dim, this.shape.length) }); },
  /** Cumulative products along `dim`, as torch.cumprod. */
  cumprod(this: Tensor, dim: number): Tensor { return apply('cumprod', [this], { axis: normDim(dim, this.shape.length) }); },
  /** Index (i32) of the minimum along `dim`; of the flattened tensor when `dim` is absent. As argmax takes it. */
  argmin(this: Tensor, dim?: number | { dim?: number; keepdim?: boolean }, keepdim?: boolean): Tensor {
    const opts = reduceOptions('argmin', dim, keepdim);
    if (Array.isArray(opts.dim)) throw new KilnError('argmin(): dim must be one number');
    if (opts.dim === undefined) return apply('argmin', [this.reshape(-1)], { axis: 0, keepdims: false });
    return apply('argmin', [this], { axis: opts.dim as number, keepdims: opts.keepdim ?? false });
  },
  /** Products over `dim` (every dimension when absent), as sum takes it. */
  prod(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('prod', this, dim, keepdim); },
  /** Maximum values over `dim`, as torch.amax (the same as max here). */
  amax(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('max', this, dim, keepdim); },
  /** Minimum values over `dim`, as torch.amin. */
  amin(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('min', this, dim, keepdim); },
  /** The variance over `dim` (every dimension when absent), with Bessel's correction unless `{ correction: 0 }` or `{ unbiased: false }`. */
  var(this: Tensor, dim?: DimArg | VarOptions, keepdim?: boolean): Tensor { return variance(this, dim, keepdim, 'var'); },
  /** The standard deviation over `dim`: the square root of var. */
  std(this: Tensor, dim?: DimArg | VarOptions, keepdim?: boolean): Tensor { return variance(this, dim, keepdim, 'std').sqrt(); },
  /** log(sum(exp(x))) over `dim`, computed stably (shifted by the maximum); -inf where every element is -inf. */
  logsumexp(this: Tensor, dim: DimArg, keepdim?: boolean): Tensor {
    const opts = reduceOptions('logsumexp', dim, keepdim);
    const dims = reducedDims(this, opts);
    const m = reduce('max', this, dims, true);
    // An infinite maximum shifts by 0: exp(-inf - -inf) would be NaN.
    const shift = m.maskedFill(apply('is_inf', [m]), 0);
    const out = this.sub(shift).exp().sum(dims, true).log().add(shift);
    return opts.keepdim ? out : apply('squeeze', [out], { axes: dims });
  },
  /** The p-norm over `dim` (every dimension when absent): p 2 (default), 1, any positive p, or Infinity. */
  norm(this: Tensor, p = 2, dim?: DimArg, keepdim?: boolean): Tensor {
    if (!(p > 0)) throw new KilnError(`norm(): p must be positive (or Infinity), got ${p}`);
    const a = this.abs();
    if (p === Infinity) return reduce('max', a, dim, keepdim);
    if (p === 1) return reduce('sum', a, dim, keepdim);
    if (p === 2) return reduce('sum', this.mul(this), dim, keepdim).sqrt();
    return binary('pow', reduce('sum', binary('pow', a, p), dim, keepdim), 1 / p);
  },
  /** Whether any element over `dim` (every dimension when absent) is nonzero (true). */
  any(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('max', nonzero(this), dim, keepdim).bool(); },
  /** Whether every element over `dim` (every dimension when absent) is nonzero (true). */
  all(this: Tensor, dim?: DimArg, keepdim?: boolean): Tensor { return reduce('min', nonzero(this), dim, keepdim).bool(); },
};

type SelectionMethods = typeof selectionMethods;

declare module './tensor-core.js' {
  interface Tensor extends SelectionMethods {}
}

Object.assign(Tensor.prototype, selectionMethods);
