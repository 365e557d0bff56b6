import { KilnError } from '../../ir/errors.js';

// A host-side batch pipeline: batches are prepared ahead of the consumer (a bounded queue), so
// their preparation overlaps with whatever the consumer awaits meanwhile (a training step on the
// device). Preparation may be synchronous or asynchronous (I/O, a worker).

/** Makes batch `index` (0-based) of an epoch. */
export type BatchSource<B> = (index: number) => B | Promise<B>;

export interface DataLoaderOptions {
  /**
   * How many batches to prepare ahead of the one being consumed (default 2). 0 prepares each batch
   * only when it is asked for: no overlap.
   */
  readonly prefetch?: number;
}

/**
 * Yields `length` batches of `source` in order, keeping up to `prefetch` of them in preparation
 * ahead of the consumer. Each iteration (`for await`) is one epoch.
 */
export class DataLoader<B> implements AsyncIterable<B> {
  readonly prefetch: number;

  constructor(private readonly source: BatchSource<B>, readonly length: number, opts: DataLoaderOptions = {}) {
    this.prefetch = opts.prefetch ?? 2;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0) throw new KilnError(`prefetch must be a non-negative integer, got ${this.prefetch}`);
    if (!Number.isInteger(length) || length < 0) throw new KilnError(`a data loader's length must be a non-negative integer, got ${length}`);
  }

  [Symbol.asyncIterator](): AsyncIterator<B> {
    const queue: Promise<B>[] = [];
    let next = 0;
    const fill = (upTo: number) => {
      while (queue.length < upTo && next < this.length) {
        const i = next++;
        // A failing batch rejects when it is consumed, not before.
        const p = Promise.resolve().then(() => this.source(i));
        p.catch(() => undefined);
        queue.push(p);
      }
    };
    return {
      next: async (): Promise<IteratorResult<B>> => {
        fill(1);
        const head = queue.shift();
        // Start the next ones now, so they are prepared while the consumer works on this one.
        fill(this.prefetch);
        if (!head) return { done: true, value: undefined };
        return { done: false, value: await head };
      },
    };
  }
}
