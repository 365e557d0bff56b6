import { KilnError } from '../../ir/errors.js';
import type { TensorData } from '../../ir/tensor-data.js';
import type { Random } from '../torch/random.js';
import { apply, Tensor } from '../torch/tensor.js';
import type { WorkerRecipe } from './worker-recipe.js';

// Map-style datasets, as torch.utils.data's: a length and the sample at an index.

/**
 * A map-style dataset: `length` samples, sample `i` from `get(i)` (which may be asynchronous: a
 * file read, a decode). Subclass it as one subclasses PyTorch's Dataset; any object with
 * `length` and `get` is one too.
 *
 * A DataLoader passes `get` a second argument: a generator seeded for this sample (see seeds.ts).
 * Draw random augmentations from it, not from a generator of your own, and they are the same
 * for a fixed seed whichever thread loads the sample.
 *
 * To be loaded in worker threads (`numWorkers`), a dataset says how a worker makes its own copy:
 * a `workerRecipe()` method returning `{ module, export, args }` (a module export the worker calls
 * with `args`), or the DataLoader's `workerDataset` option.
 */
export abstract class Dataset<T> {
  abstract readonly length: number;
  abstract get(index: number, random?: Random): T | Promise<T>;
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
  /** The tensors' data copied once into shared memory, which every worker thread then reads. */
  private shared: TensorData[] | undefined;

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

  /** How a worker thread makes this dataset: over the same values, in shared memory (copied there once). */
  workerRecipe(): WorkerRecipe {
    this.shared ??= this.tensors.map((t, k) => {
      if (t.deviceType !== 'cpu' || t.requiresGrad || t.isSymbolic) {
        throw new KilnError(`TensorDataset in worker threads: tensor ${k} must be a CPU tensor without autograd (it is ${t.toString()}); keep the dataset on the CPU and move batches to the device`);
      }
      return toSharedMemory(t.data);
    });
    return { module: import.meta.url, export: 'tensorDatasetOf', args: this.shared };
  }
}

/** `t` with its data in a SharedArrayBuffer. */
function toSharedMemory(t: TensorData): TensorData {
  const src = t.data;
  const Ctor = src.constructor as new (buffer: SharedArrayBuffer) => typeof src;
  const data = new Ctor(new SharedArrayBuffer(src.byteLength));
  data.set(src);
  return { dtype: t.dtype, shape: [...t.shape], data };
}

/** A TensorDataset over host data: what a worker thread calls to make one (see workerRecipe). */
export function tensorDatasetOf(...data: TensorData[]): TensorDataset {
  return new TensorDataset(...data.map((d) => Tensor.fromData(d)));
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
