import { Worker } from 'node:worker_threads';
import { KilnError } from '../../ir/errors.js';
import type { BatchRequest } from './load-batch.js';
import { fromPosted } from './shared-batch.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-main.js';
import { isTypeScript } from './worker-recipe.js';

// The main thread's side of a DataLoader's worker threads: batch k goes to worker k mod n (so each
// worker holds at most its share of the prefetched batches), each reply settles its batch's
// promise, and the loader awaits those promises in sampler order, whichever worker finishes
// first. A worker keeps the process alive only while it owes batches, so a loader abandoned
// mid-epoch cannot hang the process at exit.

interface Owed {
  readonly k: number;
  readonly resolve: (batch: unknown) => void;
  readonly reject: (e: Error) => void;
}

/** Starts worker-main in a thread; from kiln's TypeScript sources, with tsx registered first. */
function startWorker(setup: WorkerSetup): Worker {
  const here = import.meta.url;
  const entry = new URL(`./worker-main${isTypeScript(here) ? '.ts' : '.js'}`, here).href;
  if (!isTypeScript(here)) return new Worker(new URL(entry), { workerData: setup });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: setup });
}

/** One worker thread and the batches it owes. */
class LoaderWorker {
  private readonly worker: Worker;
  /** Batches asked for and not yet posted back, by request id. */
  private readonly owed = new Map<number, Owed>();
  private requests = 0;
  /** Set once the thread died: every batch asked of it fails with this. */
  private dead: Error | undefined;
  /** Settles once the worker has loaded its modules and made its dataset (or failed to), or died. */
  private readonly settled: Promise<void>;

  constructor(private readonly id: number, setup: WorkerSetup) {
    this.worker = startWorker(setup);
    this.worker.unref();
    let settled = () => {};
    this.settled = new Promise((resolve) => { settled = resolve; });
    this.worker.on('message', (reply: WorkerReply) => ('settled' in reply ? settled() : this.settle(reply)));
    this.worker.on('exit', () => settled());
    this.worker.on('error', (e) => this.die(new KilnError(`DataLoader worker ${id} failed: ${e.message}\n${e.stack ?? ''}`)));
    this.worker.on('exit', (code) => this.die(new KilnError(`DataLoader worker ${id} exited unexpectedly (exit code ${code})`)));
  }

  /** Batch `k` of the current epoch. */
  request(k: number, req: BatchRequest): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const id = this.requests++;
      if (this.owed.size === 0) this.worker.ref();
      this.owed.set(id, { k, resolve, reject });
      this.worker.postMessage({ id, k, indices: req.indices, seed: req.seed } satisfies WorkerRequest);
    });
  }

  private settle(reply: Exclude<WorkerReply, { settled: true }>): void {
    const owed = this.owed.get(reply.id);
    if (!owed) return;
    this.forget(reply.id);
    if ('error' in reply) {
      const { name, message, stack } = reply.error;
      owed.reject(new KilnError(`Caught ${name} in DataLoader worker ${this.id} (batch ${owed.k}): ${message}\nOriginal stack in the worker:\n${stack ?? '(none)'}`));
    } else {
      owed.resolve(fromPosted(reply.batch));
    }
  }

  private forget(id: number): void {
    this.owed.delete(id);
    if (this.owed.size === 0) this.worker.unref();
  }

  private die(e: Error): void {
    this.dead ??= e;
    for (const [id, owed] of [...this.owed]) {
      this.forget(id);
      owed.reject(this.dead);
    }
  }

  /**
   * Ends the thread once it has made its dataset (terminating it while it loads a native addon
   * would abort the process); batches it still owes are dropped (never settled, never awaited).
   */
  async terminate(): Promise<void> {
    this.dead ??= new KilnError(`DataLoader worker ${this.id} was stopped`);
    this.owed.clear();
    await this.settled;
    await this.worker.terminate();
  }
}

/** A DataLoader's worker threads. */
export class WorkerPool {
  private readonly workers: LoaderWorker[];

  constructor(setup: Omit<WorkerSetup, 'id'>) {
    this.workers = Array.from({ length: setup.numWorkers }, (_, id) => new LoaderWorker(id, { ...setup, id }));
  }

  /** Batch `k` of the epoch, loaded by worker k mod n. */
  load(k: number, req: BatchRequest): Promise<unknown> {
    return this.workers[k % this.workers.length]!.request(k, req);
  }

  /** Ends every worker thread. */
  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
