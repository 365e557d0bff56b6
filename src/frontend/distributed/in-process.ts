import { KilnError } from '../../ir/errors.js';
import { checkRank, checkSameCall, checkWorldSize, reduceRange, signature, type CallSignature, type Collectives, type ReduceOp } from './collectives.js';

// Collectives between ranks in one thread (replicas of a model on several devices of one
// process, and tests): each call waits, as a promise, for the other ranks' calls; the last to
// arrive combines every rank's array and settles all of them.

interface Arrival {
  readonly call: CallSignature;
  readonly data: Float32Array | undefined;
  readonly settle: (error?: Error) => void;
}

/** A group of ranks living in one thread; `ranks()` gives each rank's handle. */
export class InProcessGroup {
  private arrivals: (Arrival | undefined)[];

  constructor(readonly worldSize: number) {
    checkWorldSize(worldSize);
    this.arrivals = Array.from<Arrival | undefined>({ length: worldSize });
  }

  /** The handles of ranks 0 to worldSize - 1. */
  ranks(): Collectives[] {
    return Array.from({ length: this.worldSize }, (_, r) => this.rank(r));
  }

  /** The handle of rank `rank`. */
  rank(rank: number): Collectives {
    checkRank(rank, this.worldSize);
    const worldSize = this.worldSize;
    const arrive = (call: CallSignature, data?: Float32Array) => this.arrive(rank, call, data);
    return {
      rank,
      worldSize,
      allReduce: (data: Float32Array, op: ReduceOp = 'sum') => arrive(signature('allReduce', data, op, worldSize), data),
      broadcast: (data: Float32Array, root = 0) => arrive(signature('broadcast', data, root, worldSize), data),
      barrier: () => arrive(signature('barrier', undefined, 0, worldSize)),
    };
  }

  private arrive(rank: number, call: CallSignature, data: Float32Array | undefined): Promise<void> {
    if (this.arrivals[rank]) throw new KilnError(`rank ${rank} called a collective before its previous one completed (await each call)`);
    return new Promise<void>((resolve, reject) => {
      this.arrivals[rank] = { call, data, settle: (e) => (e ? reject(e) : resolve()) };
      if (this.arrivals.some((a) => !a)) return;
      const all = this.arrivals as Arrival[];
      this.arrivals = Array.from<Arrival | undefined>({ length: this.worldSize });
      try {
        checkSameCall(all.map((a) => a.call));
        combine(all, call);
      } catch (e) {
        for (const a of all) a.settle(e as Error);
        return;
      }
      for (const a of all) a.settle();
    });
  }
}

/** Writes the call's result into every rank's array. */
function combine(all: readonly Arrival[], call: CallSignature): void {
  if (call.op === 'barrier') return;
  const parts = all.map((a) => a.data!);
  let result: Float32Array;
  if (call.op === 'broadcast') {
    result = parts[call.arg]!.slice();
  } else {
    result = new Float32Array(call.length);
    reduceRange(parts, 0, call.length, call.arg === 1, result);
  }
  for (const p of parts) p.set(result);
}
