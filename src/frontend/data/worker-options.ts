import { KilnError } from '../../ir/errors.js';
import type { Dataset } from './dataset.js';
import type { WorkerSetup } from './worker-main.js';
import { sendable, type WorkerRecipe } from './worker-recipe.js';

// The DataLoader options that concern worker threads, checked up front: what cannot run in a
// worker (a collate function, a dataset with no recipe) is refused when the loader is made, with
// what to do instead.

/** DataLoader options for loading batches in worker threads. */
export interface WorkerOptions {
  /** Worker threads preparing batches (default 0: batches are prepared on the main thread). */
  readonly numWorkers?: number;
  /**
   * How each worker makes its own copy of the dataset: a module export it calls with `args`
   * (default: the dataset's own `workerRecipe()`, which TensorDataset has).
   */
  readonly workerDataset?: WorkerRecipe;
  /**
   * How each worker (and, without workers, the main thread) makes the collate function: a module
   * export called with `args` that returns it. A `collate` function cannot be sent to a thread.
   */
  readonly workerCollate?: WorkerRecipe;
  /** Called in each worker with `{ id, numWorkers }` then `args`, before its dataset is made (PyTorch's worker_init_fn). */
  readonly workerInit?: WorkerRecipe;
  /** Keep the worker threads from one epoch to the next (default false: they end with each epoch). */
  readonly persistentWorkers?: boolean;
}

/** A dataset that can tell a worker thread how to make a copy of itself. */
interface WorkerLoadable {
  workerRecipe(): WorkerRecipe;
}

function hasRecipe(dataset: object): dataset is WorkerLoadable {
  return typeof (dataset as Partial<WorkerLoadable>).workerRecipe === 'function';
}

/** What the loader's workers are started with (without their ids), or undefined for no workers. */
export function workerSetupOf(dataset: Dataset<unknown>, opts: WorkerOptions & { collate?: unknown; prefetchFactor?: number }, batched: boolean): Omit<WorkerSetup, 'id'> | undefined {
  const n = opts.numWorkers ?? 0;
  if (!Number.isInteger(n) || n < 0) throw new KilnError(`numWorkers option should be a non-negative integer, got ${n}`);
  if (n === 0) {
    if (opts.persistentWorkers) throw new KilnError('persistentWorkers option needs numWorkers > 0');
    return undefined;
  }
  if (opts.prefetchFactor === 0) throw new KilnError(`prefetchFactor: 0 prepares nothing ahead, which worker threads cannot do; give prefetchFactor >= 1 with numWorkers: ${n}`);
  if (opts.collate !== undefined) {
    throw new KilnError(`numWorkers: ${n}: a collate function cannot be sent to a worker thread; give workerCollate: { module, export, args } (a module export that returns the collate function), or collate on the main thread after loading`);
  }
  const recipe = opts.workerDataset ?? (hasRecipe(dataset) ? dataset.workerRecipe() : undefined);
  if (!recipe) {
    const kind = (dataset as object).constructor?.name ?? 'object';
    throw new KilnError(`numWorkers: ${n}: a worker thread cannot receive this dataset (a ${kind}: its code and state live in the main thread); give workerDataset: { module, export, args }, a module export that makes the same dataset in each worker, or a dataset with a workerRecipe() method (TensorDataset has one)`);
  }
  return {
    numWorkers: n,
    length: dataset.length,
    batched,
    dataset: sendable(recipe, 'workerDataset'),
    ...(opts.workerCollate ? { collate: sendable(opts.workerCollate, 'workerCollate') } : {}),
    ...(opts.workerInit ? { init: sendable(opts.workerInit, 'workerInit') } : {}),
  };
}
