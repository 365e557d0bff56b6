import { parentPort, workerData } from 'node:worker_threads';
import { KilnError } from '../../ir/errors.js';
import { collateIntoSharedMemory, defaultCollate, defaultConvert } from './collate.js';
import type { Dataset } from './dataset.js';
import { loadBatch, type BatchRequest, type CollateFn } from './load-batch.js';
import { toPosted } from './shared-batch.js';
import { callRecipe, type SentRecipe } from './worker-recipe.js';

// A DataLoader worker thread: it builds its own dataset (and collate function) from recipes, then
// loads the batches the main thread asks for, one at a time in the order asked, collating each
// into shared memory, and posts it back (or the error that stopped it, with its stack).

/** What a worker is started with. */
export interface WorkerSetup {
  readonly id: number;
  readonly numWorkers: number;
  /** The main thread's dataset length, which the worker's own dataset must have. */
  readonly length: number;
  readonly batched: boolean;
  readonly dataset: SentRecipe;
  readonly collate?: SentRecipe;
  readonly init?: SentRecipe;
}

/** A request from the main thread: batch `k` of an epoch, as request `id` (unique over the worker's life). */
export interface WorkerRequest extends BatchRequest {
  readonly id: number;
  readonly k: number;
}

/** What a worker posts: `settled` once its dataset is made (or failed), then a reply per request `id`. */
export type WorkerReply =
  | { readonly settled: true }
  | { readonly id: number; readonly batch: unknown }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string; readonly stack?: string } };

/** What the worker passes to `workerInit` first, as PyTorch's get_worker_info(). */
export interface WorkerInfo {
  readonly id: number;
  readonly numWorkers: number;
}

async function prepare(setup: WorkerSetup): Promise<{ dataset: Dataset<unknown>; collate: CollateFn<unknown> }> {
  if (setup.init) await callRecipe(setup.init, 'workerInit', { id: setup.id, numWorkers: setup.numWorkers } satisfies WorkerInfo);
  const dataset = await callRecipe(setup.dataset, 'the worker dataset') as Dataset<unknown>;
  if (typeof dataset?.get !== 'function' || dataset.length !== setup.length) {
    throw new KilnError(`the worker dataset made by ${setup.dataset.export}() of ${setup.dataset.module} must be a map-style dataset of ${setup.length} samples, as the DataLoader's; got ${typeof dataset?.get === 'function' ? `${dataset.length} samples` : 'no get(index)'}`);
  }
  const collate = setup.collate ? await callRecipe(setup.collate, 'workerCollate') : setup.batched ? defaultCollate : defaultConvert;
  if (typeof collate !== 'function') throw new KilnError(`workerCollate: ${setup.collate!.export}() of ${setup.collate!.module} must return a collate function, got ${typeof collate}`);
  return { dataset, collate: collate as CollateFn<unknown> };
}

function errorReply(id: number, e: unknown): WorkerReply {
  const err = e instanceof Error ? e : new Error(String(e));
  return { id, error: { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) } };
}

const port = parentPort;
if (!port) throw new KilnError('worker-main runs in a DataLoader worker thread, not as a script');
collateIntoSharedMemory();
const ready = prepare(workerData as WorkerSetup);
// Reported with every batch asked for. Until then, the thread may be loading native addons, and
// terminating a thread in the middle of an addon's initialisation (dawn.node's) aborts the process.
void ready.catch(() => undefined).then(() => port.postMessage({ settled: true } satisfies WorkerReply));
let queue = Promise.resolve();
port.on('message', (req: WorkerRequest) => {
  queue = queue.then(async () => {
    try {
      const { dataset, collate } = await ready;
      port.postMessage({ id: req.id, batch: toPosted(await loadBatch(dataset, collate, req)) } satisfies WorkerReply);
    } catch (e) {
      port.postMessage(errorReply(req.id, e));
    }
  });
});
