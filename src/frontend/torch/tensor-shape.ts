import { KilnError } from '../../ir/errors.js';
import { numel } from '../../ir/types.js';
import { chunkSizes, normDim } from './dims.js';
import { apply, applyMulti } from './tensor-apply.js';
import { Tensor } from './tensor-core.js';

// Tensor methods that move elements: permutations, reshapes, squeezes, broadcasts, splits; and
// `cat` and `stack`.

/** The methods this file adds to Tensor (exported so that their declarations name Tensor). */
export const shapeMethods = {
  /** Permutes dimensions (`permute(1, 0)` or `permute([1, 0])`); with no argument, reverses them. */
  permute(this: Tensor, ...perm: (number | readonly number[])[]): Tensor {
    const flat = perm.length === 1 && Array.isArray(perm[0]) ? [...perm[0]] : perm;
    return apply('transpose', [this], { perm: flat as number[] });
  },
  /** The tensor repeated `sizes[i]` times along each dimension, as torch.repeat (more sizes than dimensions add leading ones). */
  repeat(this: Tensor, ...sizes: (number | readonly number[])[]): Tensor {
    const reps = (sizes.length === 1 && Array.isArray(sizes[0]) ? [...sizes[0]] : sizes) as number[];
    if (reps.length < this.shape.length) throw new KilnError(`repeat(): number of repeat dims (${reps.length}) can not be smaller than number of tensor dims (${this.shape.length})`);
    const shape = [...Array<number>(reps.length - this.shape.length).fill(1), ...this.shape];
    // [a, b] repeated [r, s]: viewed as [1, a, 1, b], broadcast to [r, a, s, b], merged to [r*a, s*b].
    const spread = this.reshape(shape.flatMap((d) => [1, d]));
    return spread.expand(...reps.flatMap((r, i) => [r, shape[i]!])).reshape(reps.map((r, i) => r * shape[i]!));
  },
  /** The same values as a new tensor; differentiable (kiln's tensors are never written in place, so nothing is copied). */
  clone(this: Tensor): Tensor { return this.reshape(this.shape); },
  /** Swaps dimensions `d0` and `d1`. */
  transpose(this: Tensor, d0: number, d1: number): Tensor {
    const r = this.shape.length;
    const perm = this.shape.map((_, i) => i);
    const a = normDim(d0, r);
    const b = normDim(d1, r);
    [perm[a], perm[b]] = [perm[b]!, perm[a]!];
    return this.permute(...perm);
  },
  /** Swaps the last two dimensions (`.T` for matrices). */
  t(this: Tensor): Tensor {
    return this.shape.length < 2 ? this : this.transpose(-2, -1);
  },
  /** The same elements in another shape (one extent may be -1); `reshape(2, 3)` or `reshape([2, 3])`. */
  reshape(this: Tensor, ...shape: (number | readonly number[])[]): Tensor {
    const varying = this.isSymbolic ? this.value.type.dims : undefined;
    if (varying) {
      // Traced over sizes that vary (trace's `dynamic`), `x.shape` reads each one's largest value:
      // an extent asked for at its own position keeps the size (as ONNX's 0 does).
      const flatShape = shape.flatMap((d) => (typeof d === 'number' ? [d] : [...d]));
      const copy = flatShape.flatMap((d, i) => (i < varying.length && typeof varying[i] !== 'number' && d === this.shape[i] ? [i] : []));
      if (copy.length) return apply('reshape', [this], { shape: flatShape.map((d, i) => (copy.includes(i) ? 0 : d)), copy });
    }
    const flat = shape.length === 1 && Array.isArray(shape[0]) ? shape[0] : (shape as number[]);
    return apply('reshape', [this], { shape: [...flat] });
  },
  /** Same as reshape (tensors are contiguous). */
  view(this: Tensor, ...shape: (number | readonly number[])[]): Tensor { return this.reshape(...shape); },
  /** Merges dimensions startDim..endDim into one, as torch.flatten. */
  flatten(this: Tensor, startDim = 0, endDim = -1): Tensor {
    const r = this.shape.length;
    if (r === 0) return this.reshape(1);
    const s = normDim(startDim, r);
    const e = normDim(endDim, r);
    if (s > e) throw new KilnError(`flatten() has invalid args: start_dim ${startDim} cannot come after end_dim ${endDim}`);
    return this.reshape(...this.shape.slice(0, s), numel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1));
  },
  /** Removes size-1 dimensions (all of them, or `dim` when it has size 1, as PyTorch). */
  squeeze(this: Tensor, dim?: number): Tensor {
    if (dim === undefined) return apply('squeeze', [this], { axes: [] });
    const d = normDim(dim, this.shape.length);
    return this.shape[d] === 1 ? apply('squeeze', [this], { axes: [d] }) : this;
  },
  /** Inserts a size-1 dimension at `dim` (negative counts from the end of the result). */
  unsqueeze(this: Tensor, dim: number): Tensor { return apply('unsqueeze', [this], { axes: [dim] }); },
  /** Broadcasts to `sizes`; -1 keeps a dimension. */
  expand(this: Tensor, ...sizes: number[]): Tensor {
    const off = sizes.length - this.shape.length;
    return apply('expand', [this], { shape: sizes.map((s, i) => (s === -1 ? this.shape[i - off] ?? 1 : s)) });
  },
  /** Splits along `dim` into pieces of `size` (the last may be smaller) or of the given sizes. */
  split(this: Tensor, size: number | readonly number[], dim = 0): Tensor[] {
    const d = normDim(dim, this.shape.length);
    const n = this.shape[d]!;
    const sizes = typeof size === 'number' ? chunkSizes(n, size) : [...size];
    return applyMulti('split', [this], { axis: d, sizes });
  },
  /** `length` elements along `dim` from `start` (negative counts from the end), as torch.narrow. */
  narrow(this: Tensor, dim: number, start: number, length: number): Tensor {
    const d = normDim(dim, this.shape.length);
    const n = this.shape[d]!;
    const s = start < 0 ? start + n : start;
    if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
      throw new KilnError(`narrow(): start (${start}) + length (${length}) exceeds dimension size (${n}) of dim ${dim}`);
    }
    return apply('slice', [this], { starts: [s], ends: [s + length], axes: [d] });
  },
  /** Splits along `dim` into `chunks` pieces of equal size (the last may be smaller), as torch.chunk. */
  chunk(this: Tensor, chunks: number, dim = 0): Tensor[] {
    const n = this.shape[normDim(dim, this.shape.length)]!;
    return this.split(Math.max(1, Math.ceil(n / chunks)), dim);
  },
};

type ShapeMethods = typeof shapeMethods;

declare module './tensor-core.js' {
  interface Tensor extends ShapeMethods {
    /** The dimensions reversed (the transpose of a matrix), as PyTorch's `.T`. */
    readonly T: Tensor;
  }
}

Object.assign(Tensor.prototype, shapeMethods);
Object.defineProperty(Tensor.prototype, 'T', {
  get(this: Tensor) { return this.permute(this.shape.map((_, i) => this.shape.length - 1 - i)); },
  configurable: true,
});

/** `dim` given as a number or as PyTorch's keyword (`{ dim: 1 }`). */
function dimArg(method: string, dim: number | { dim?: number }): number {
  if (typeof dim === 'number') return dim;
  const unknown = typeof dim === 'object' && dim !== null ? Object.keys(dim).filter((k) => k !== 'dim') : [];
  if (typeof dim !== 'object' || dim === null || unknown.length) throw new KilnError(`${method}(): dim must be a number or { dim }, got ${JSON.stringify(dim)}`);
  return dim.dim ?? 0;
}

/** Concatenates tensors along `dim` (`cat(ts, 1)` or `cat(ts, { dim: 1 })`), like torch.cat. */
export function cat(tensors: readonly Tensor[], dim: number | { dim?: number } = 0): Tensor {
  if (tensors.length === 0) throw new KilnError('cat() needs at least one tensor');
  return apply('concat', tensors, { axis: normDim(dimArg('cat', dim), tensors[0]!.shape.length) });
}

/** Stacks tensors of one shape along a new dimension `dim`, like torch.stack. */
export function stack(tensors: readonly Tensor[], dim: number | { dim?: number } = 0): Tensor {
  if (tensors.length === 0) throw new KilnError('stack() needs at least one tensor');
  const d = dimArg('stack', dim);
  return cat(tensors.map((t) => t.unsqueeze(d)), d);
}
