import { KilnError } from '../../ir/errors.js';
import {
  checkRank, checkSameCall, checkWorldSize, reduceRange, signature, type CallSignature, type Collectives, type ReduceOp,
} from './collectives.js';

// Collectives between worker threads through shared memory (SharedArrayBuffer + Atomics). Each
// rank has a slot of `capacity` floats; an allReduce writes every rank's chunk to its slot, then
// each rank reduces its own share of the chunk into a shared result area (a reduce-scatter, so
// the work is split across ranks) and every rank copies the result out (an all-gather): two
// barriers per chunk. Results are copied into the caller's own arrays: they never view shared
// memory (Dawn's queue.writeBuffer crashes on SharedArrayBuffer views).

/** What a worker needs to join the group: plain data, structured-cloned into workers. */
export interface SharedMemoryGroupInit {
  readonly worldSize: number;
  /** Floats per rank slot; longer arrays are reduced in chunks of this size. */
  readonly capacity: number;
  /** How long a rank waits for the others before failing, in ms. */
  readonly timeoutMs: number;
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

// Control words: the barrier's arrival count and generation, then per rank its call (op, length,
// arg) and how many barriers it has entered (to name the ranks a timed-out barrier waits for).
const COUNT = 0;
const GENERATION = 1;
const HEADER = 2;
const PER_RANK = 4;
const OPS: readonly CallSignature['op'][] = ['allReduce', 'broadcast', 'barrier'];

type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Creates the shared memory of a group; pass the result to `SharedMemoryGroup.join` in each rank. */
export function createSharedMemoryGroup(worldSize: number, opts: { capacity?: number; timeoutMs?: number } = {}): SharedMemoryGroupInit {
  checkWorldSize(worldSize);
  const capacity = opts.capacity ?? 1 << 20;
  if (!Number.isInteger(capacity) || capacity < 1) throw new KilnError(`capacity must be a positive integer number of floats, got ${capacity}`);
  return {
    worldSize,
    capacity,
    timeoutMs: opts.timeoutMs ?? 120_000,
    control: new SharedArrayBuffer((HEADER + PER_RANK * worldSize) * 4),
    // A slot per rank, then the result area.
    data: new SharedArrayBuffer((worldSize + 1) * capacity * 4),
  };
}

/** One rank's handle on a shared-memory group (in a worker thread, or any thread sharing the buffers). */
export class SharedMemoryGroup implements Collectives {
  readonly worldSize: number;
  private readonly control: Int32Array;
  private readonly slots: Float32Array[];
  private readonly result: Float32Array;
  private busy = false;

  static join(init: SharedMemoryGroupInit, rank: number): SharedMemoryGroup {
    return new SharedMemoryGroup(init, rank);
  }

  private constructor(private readonly init: SharedMemoryGroupInit, readonly rank: number) {
    this.worldSize = checkWorldSize(init.worldSize);
    checkRank(rank, this.worldSize);
    this.control = new Int32Array(init.control);
    const c = init.capacity;
    this.slots = Array.from({ length: this.worldSize }, (_, r) => new Float32Array(init.data, r * c * 4, c));
    this.result = new Float32Array(init.data, this.worldSize * c * 4, c);
  }

  allReduce(data: Float32Array, op: ReduceOp = 'sum'): Promise<void> {
    const call = signature('allReduce', data, op, this.worldSize);
    return this.exclusive(call, async () => {
      const { capacity } = this.init;
      for (let at = 0; at === 0 || at < data.length; at += capacity) {
        const n = Math.min(capacity, data.length - at);
        this.slots[this.rank]!.set(data.subarray(at, at + n));
        await this.sync(call, at === 0);
        // This rank's share of the chunk, reduced from every slot into the result area.
        const from = Math.floor((n * this.rank) / this.worldSize);
        const to = Math.floor((n * (this.rank + 1)) / this.worldSize);
        reduceRange(this.slots, from, to, call.arg === 1, this.result, from);
        await this.sync(call);
        data.set(this.result.subarray(0, n), at);
      }
    });
  }

  broadcast(data: Float32Array, root = 0): Promise<void> {
    const call = signature('broadcast', data, root, this.worldSize);
    return this.exclusive(call, async () => {
      const { capacity } = this.init;
      for (let at = 0; at === 0 || at < data.length; at += capacity) {
        const n = Math.min(capacity, data.length - at);
        if (this.rank === root) this.slots[root]!.set(data.subarray(at, at + n));
        await this.sync(call, at === 0);
        if (this.rank !== root) data.set(this.slots[root]!.subarray(0, n), at);
        await this.sync(call);
      }
    });
  }

  barrier(): Promise<void> {
    const call = signature('barrier', undefined, 0, this.worldSize);
    // The second barrier keeps a fast rank from writing its next call over this one's record before all have checked it.
    return this.exclusive(call, async () => { await this.sync(call, true); await this.sync(call); });
  }

  /** Runs one call at a time per rank (a second overlapping call would corrupt the slots). */
  private async exclusive(call: CallSignature, body: () => Promise<void>): Promise<void> {
    if (this.busy) throw new KilnError(`rank ${this.rank} called a collective before its previous one completed (await each call)`);
    this.busy = true;
    try {
      const h = HEADER + PER_RANK * this.rank;
      this.control[h] = OPS.indexOf(call.op);
      this.control[h + 1] = call.length;
      this.control[h + 2] = call.arg;
      await body();
    } finally {
      this.busy = false;
    }
  }

  /** A barrier over the group; with `check`, then compares every rank's call with this one. */
  private async sync(call: CallSignature, check = false): Promise<void> {
    const ctl = this.control;
    Atomics.add(ctl, HEADER + PER_RANK * this.rank + 3, 1);
    const generation = Atomics.load(ctl, GENERATION);
    if (Atomics.add(ctl, COUNT, 1) === this.worldSize - 1) {
      Atomics.store(ctl, COUNT, 0);
      Atomics.add(ctl, GENERATION, 1);
      Atomics.notify(ctl, GENERATION);
    } else {
      // A pending waitAsync does not keep Node's event loop alive: a timer does, while waiting.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      try {
        const started = performance.now();
        while (Atomics.load(ctl, GENERATION) === generation) {
          const left = this.init.timeoutMs - (performance.now() - started);
          const w = left > 0 ? waitAsync(ctl, GENERATION, generation, left) : { async: false, value: 'timed-out' };
          const outcome = w.async ? await w.value : w.value;
          if (outcome === 'timed-out' && Atomics.load(ctl, GENERATION) === generation) throw this.timedOut(call);
        }
      } finally {
        clearInterval(keepAlive);
      }
    }
    if (check) checkSameCall(Array.from({ length: this.worldSize }, (_, r) => this.callOf(r)));
  }

  private callOf(rank: number): CallSignature {
    const h = HEADER + PER_RANK * rank;
    return { op: OPS[Atomics.load(this.control, h)]!, length: Atomics.load(this.control, h + 1), arg: Atomics.load(this.control, h + 2) };
  }

  private timedOut(call: CallSignature): KilnError {
    const mine = Atomics.load(this.control, HEADER + PER_RANK * this.rank + 3);
    const behind = Array.from({ length: this.worldSize }, (_, r) => r).filter((r) => Atomics.load(this.control, HEADER + PER_RANK * r + 3) < mine);
    return new KilnError(
      `rank ${this.rank} waited ${this.init.timeoutMs / 1000} s in ${call.op} for rank(s) ${behind.join(', ') || '?'}, ` +
      'which never arrived (a rank failed or exited, or the ranks call collectives in different orders)',
    );
  }
}
