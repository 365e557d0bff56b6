import { KilnError } from '../../ir/errors.js';
import { hostTensorData } from './host-values.js';
import { Tensor } from './tensor-core.js';
import { where } from './tensor-math.js';

// Tensor methods that keep or replace elements by a mask: `tril`, `triu` and `maskedFill`, as
// PyTorch's. They select with `where` against a constant bool mask, so they run on any device,
// trace, and differentiate through where's gradient rule.

/**
 * The bool mask [rows, cols] that is true where column - row >= `diagonal` (`upper`) or
 * column - row <= `diagonal` (lower): which elements triu or tril keep.
 */
export function triangle(rows: number, cols: number, diagonal: number, upper: boolean): boolean[] {
  const keep: boolean[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) keep.push(upper ? j - i >= diagonal : j - i <= diagonal);
  }
  return keep;
}

function triangular(x: Tensor, diagonal: number, upper: boolean, fn: string): Tensor {
  if (x.shape.length < 2) throw new KilnError(`${fn}: input tensor must have at least 2 dimensions, got ${x.shape.length}`);
  if (!Number.isInteger(diagonal)) throw new KilnError(`${fn}: diagonal must be an integer, got ${diagonal}`);
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  const keep = x.constantLike(hostTensorData('bool', [rows, cols], triangle(rows, cols, diagonal, upper).map(Number)));
  return where(keep, x, 0);
}

/** The methods this file adds to Tensor (exported so that their declarations name Tensor). */
export const maskMethods = {
  /**
   * The lower triangle of the last two dimensions (elements with column - row <= diagonal),
   * the rest zero, as torch.tril.
   */
  tril(this: Tensor, diagonal = 0): Tensor { return triangular(this, diagonal, false, 'tril'); },
  /** The upper triangle of the last two dimensions (column - row >= diagonal), the rest zero, as torch.triu. */
  triu(this: Tensor, diagonal = 0): Tensor { return triangular(this, diagonal, true, 'triu'); },
  /** `value` where the bool `mask` (broadcast to this shape) is true, else this tensor's element, as masked_fill. */
  maskedFill(this: Tensor, mask: Tensor, value: number): Tensor {
    if (mask.dtype !== 'bool') throw new KilnError(`maskedFill: the mask must be bool, got ${mask.dtype}`);
    const out = where(mask, value, this);
    if (out.shape.join() !== this.shape.join()) {
      throw new KilnError(`maskedFill: a mask of shape [${mask.shape.join(', ')}] does not broadcast to the tensor's [${this.shape.join(', ')}]`);
    }
    return out;
  },
};

type MaskMethods = typeof maskMethods;

declare module './tensor-core.js' {
  interface Tensor extends MaskMethods {}
}

Object.assign(Tensor.prototype, maskMethods);
