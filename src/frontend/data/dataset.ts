import { KilnError } from '../../ir/errors.js';
import { apply, Tensor } from '../torch/tensor.js';

// Map-style datasets, as torch.utils.data's: a length and the sample at an index.

/**
 * A map-style dataset: `length` samples, sample `i` from `get(i)` (which may be asynchronous: a
 * file read, a decode). Subclass it as one subclasses PyTorch's Dataset; any object with
 * `length` and `get` is one too.
 */
export abstract class Dataset<T> {
  abstract readonly length: number;
  abstract get(index: number): T | Promise<T>;
}

/** Throws PyTorch's IndexError message unless `index` is an integer in [-length, length). */
function checkIndex(index: number, length: number): number {
  if (!Number.isInteger(index) || index < -length || index >= length) {
    throw new KilnError(`index ${index} is out of range for a dataset of ${length} samples`);
  }
  return index < 0 ? index + length : index;
}

/**
 * Samples that are rows of tensors of one first dimension: sample `i` is `[t0[i], t1[i], ...]`,
 * as PyTorch's TensorDataset. A row of a CPU tensor is a view of its data, not a copy.
 */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new KilnError('TensorDataset needs at least one tensor');
    tensors.forEach((t, k) => {
      if (!(t instanceof Tensor)) throw new KilnError(`TensorDataset: argument ${k} is not a tensor`);
      if (t.shape.length === 0) throw new KilnError(`TensorDataset: tensor ${k} is a scalar; each tensor needs a first dimension to index`);
    });
    const n = tensors[0]!.shape[0]!;
    const other = tensors.findIndex((t) => t.shape[0] !== n);
    if (other >= 0) throw new KilnError(`TensorDataset: size mismatch between tensors: tensor 0 has ${n} rows, tensor ${other} has ${tensors[other]!.shape[0]}`);
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0]!.shape[0]!;
  }

  get(index: number): Tensor[] {
    const i = checkIndex(index, this.length);
    return this.tensors.map((t) => row(t, i));
  }
}

/** Row `i` of `t`: a view of a CPU tensor's data; otherwise (on a device, or recorded for autograd) an op. */
function row(t: Tensor, i: number): Tensor {
  if (t.deviceType === 'cpu' && !t.requiresGrad && !t.isSymbolic) {
    const { dtype, shape, data } = t.data;
    const n = data.length / shape[0]!;
    return Tensor.fromData({ dtype, shape: shape.slice(1), data: data.subarray(i * n, (i + 1) * n) });
  }
  return apply('slice', [t], { starts: [i], ends: [i + 1], axes: [0] }).squeeze(0);
}
