import { KilnError } from '../../ir/errors.js';
import { normDim } from './dims.js';
import { isFloat } from '../../ir/types.js';
import { apply, scalarLike } from './tensor-apply.js';
import { Tensor } from './tensor-core.js';
import { cat } from './tensor-shape.js';
import { where } from './tensor-math.js';

// Tensor methods PyTorch code uses often that are compositions of other ops: flip, roll, unbind,
// argsort, sign, scatter, scatterAdd, scatterReduce, reciprocal, lerp, as PyTorch names and takes them; and expm1 and log1p, IR ops
// of their own (a composition would lose the digits they exist to keep).

/** A slice start past every extent, for slices that run to the end backwards. */
const FAR = 2 ** 31 - 1;

// Exported (as the other method families are), so that the declaration file imports Tensor.
export const moreMethods = {
  /** The elements in reverse order along each of `dims`, as torch.flip. */
  flip(this: Tensor, dims: number | readonly number[]): Tensor {
    const axes = (typeof dims === 'number' ? [dims] : [...dims]).map((d) => normDim(d, this.shape.length));
    if (!axes.length) return this;
    return apply('slice', [this], { starts: axes.map(() => -1), ends: axes.map(() => -FAR), axes, steps: axes.map(() => -1) });
  },
  /**
   * The elements shifted by `shifts` along `dims`, those that fall off one end coming back at the
   * other, as torch.roll; without dims, over the flattened tensor (its shape kept).
   */
  roll(this: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
    const ss = typeof shifts === 'number' ? [shifts] : [...shifts];
    if (dims === undefined) {
      if (ss.length !== 1) throw new KilnError(`roll(): without dims, shifts must be one number, got (${ss.join(', ')})`);
      return this.reshape([this.numel()]).roll(ss[0]!, 0).reshape([...this.shape]);
    }
    const ds = typeof dims === 'number' ? [dims] : [...dims];
    if (ds.length !== ss.length) throw new KilnError(`roll(): shifts (${ss.length}) and dims (${ds.length}) must be as many`);
    let x: Tensor = this;
    ds.forEach((dim, i) => {
      const d = normDim(dim, this.shape.length);
      const n = this.shape[d]!;
      const s = n ? ((ss[i]! % n) + n) % n : 0;
      if (s) x = cat([x.narrow(d, n - s, s), x.narrow(d, 0, n - s)], d);
    });
    return x;
  },
  /** The slices along `dim`, each without it, as torch.unbind. */
  unbind(this: Tensor, dim = 0): Tensor[] {
    const d = normDim(dim, this.shape.length);
    const rest = this.shape.filter((_, i) => i !== d);
    return Array.from({ length: this.shape[d]! }, (_, i) => this.narrow(d, i, 1).reshape(rest));
  },
  /** The indices that sort `dim` (default the last) ascending (or descending), stable, as torch.argsort. */
  argsort(this: Tensor, dim = -1, descending = false): Tensor {
    return this.sort(dim, descending).indices;
  },
  /** -1, 0 or 1 by the sign of each element (NaN stays NaN), as torch.sign. */
  sign(this: Tensor): Tensor {
    const s = where(this.gt(0), 1, where(this.lt(0), -1, 0)).type(this.dtype);
    return isFloat(this.dtype) ? where(apply('is_nan', [this]), this, s) : s;
  },
  /** exp(x) - 1, accurate near 0 as torch.expm1 (where exp(x) - 1 would cancel x's digits away). */
  expm1(this: Tensor): Tensor { return apply('expm1', [this]); },
  /** log(1 + x), accurate near 0 as torch.log1p (where 1 + x would round x's digits away). */
  log1p(this: Tensor): Tensor { return apply('log1p', [this]); },
  /**
   * A copy with src's elements written at `index` along `dim` (src may be larger: the index's
   * extent of it is read; or a number for every position), as torch.scatter; the last write wins.
   */
  scatter(this: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
    return scatterInto(this, dim, index, src, 'none', 'scatter');
  },
  /** A copy with src's elements added at `index` along `dim`, duplicates summed, as torch.scatter_add. */
  scatterAdd(this: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
    return scatterInto(this, dim, index, src, 'add', 'scatterAdd');
  },
  /** A copy with src's elements folded in at `index` by 'sum', 'prod', 'amax' or 'amin' (include_self), as torch.scatter_reduce. */
  scatterReduce(this: Tensor, dim: number, index: Tensor, src: Tensor, reduce: 'sum' | 'prod' | 'amax' | 'amin'): Tensor {
    const reduction = ({ sum: 'add', prod: 'mul', amax: 'max', amin: 'min' } as const)[reduce];
    if (!reduction) throw new KilnError(`scatterReduce(): reduce '${String(reduce)}' is not one of sum, prod, amax, amin (mean has no kernel)`);
    return scatterInto(this, dim, index, src, reduction, 'scatterReduce');
  },
  /** 1 / x, as torch.reciprocal. */
  reciprocal(this: Tensor): Tensor { return scalarLike(this, 1).div(this); },
  /** x + weight (end - x), as torch.lerp. */
  lerp(this: Tensor, end: Tensor | number, weight: Tensor | number): Tensor {
    return this.add(this.neg().add(end).mul(weight));
  },
};

type MoreMethods = typeof moreMethods;

/** ONNX ScatterElements with PyTorch's operands: src cut to the index's extents, or a number broadcast to them. */
function scatterInto(x: Tensor, dim: number, index: Tensor, src: Tensor | number, reduction: 'none' | 'add' | 'mul' | 'max' | 'min', what: string): Tensor {
  const d = normDim(dim, x.shape.length);
  if (index.shape.length !== x.shape.length) throw new KilnError(`${what}(): index [${index.shape.join(',')}] must have the rank of the tensor [${x.shape.join(',')}]`);
  let updates: Tensor;
  if (typeof src === 'number') updates = scalarLike(x, src).expand(...index.shape);
  else {
    if (src.shape.length !== index.shape.length || src.shape.some((n, i) => n < index.shape[i]!)) {
      throw new KilnError(`${what}(): src [${src.shape.join(',')}] must be at least as large as index [${index.shape.join(',')}] in every dimension`);
    }
    updates = src;
    index.shape.forEach((n, i) => { if (updates.shape[i] !== n) updates = updates.narrow(i, 0, n); });
  }
  return apply('scatter_elements', [x, index, updates], { axis: d, reduction });
}

declare module './tensor-core.js' {
  interface Tensor extends MoreMethods {}
}

Object.assign(Tensor.prototype, moreMethods);
