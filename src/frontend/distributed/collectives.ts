import { KilnError } from '../../ir/errors.js';

// The collective operations data-parallel training needs, behind one small interface, as
// torch.distributed's process group: every rank of a group calls the same operations in the same
// order, and each call returns once every rank has contributed. Implementations differ only in
// transport: ranks in one thread (InProcessGroup), worker threads sharing memory
// (SharedMemoryGroup); a multi-machine transport implements the same interface
// (docs/distributed.md).

/** How allReduce combines the ranks' arrays. */
export type ReduceOp = 'sum' | 'mean';

/** One rank's handle on a group of `worldSize` ranks. */
export interface Collectives {
  /** This rank, 0 to worldSize - 1. */
  readonly rank: number;
  readonly worldSize: number;
  /**
   * Replaces `data` on every rank with the elementwise sum (or mean) over the ranks. The sum is
   * accumulated in float64 in rank order and rounded once, so every rank gets the same bits.
   */
  allReduce(data: Float32Array, op?: ReduceOp): Promise<void>;
  /** Replaces `data` on every rank with rank `root`'s. */
  broadcast(data: Float32Array, root?: number): Promise<void>;
  /** Returns once every rank has called it. */
  barrier(): Promise<void>;
}

/** What a rank asked for, compared across ranks so that mismatched calls fail instead of mixing data. */
export interface CallSignature {
  readonly op: 'allReduce' | 'broadcast' | 'barrier';
  readonly length: number;
  /** The reduce op (0 sum, 1 mean) or the broadcast root. */
  readonly arg: number;
}

export const describeCall = (c: CallSignature): string =>
  c.op === 'barrier' ? 'barrier()' :
  c.op === 'broadcast' ? `broadcast(${c.length} elements, root ${c.arg})` :
  `allReduce(${c.length} elements, '${c.arg === 0 ? 'sum' : 'mean'}')`;

/** Fails unless every rank made the same call (ranks must call collectives in the same order). */
export function checkSameCall(calls: readonly CallSignature[]): void {
  const first = calls[0]!;
  const other = calls.findIndex((c) => c.op !== first.op || c.length !== first.length || c.arg !== first.arg);
  if (other > 0) {
    throw new KilnError(
      `collective mismatch: rank 0 called ${describeCall(first)} while rank ${other} called ${describeCall(calls[other]!)} ` +
      '(every rank must call the same collectives, with the same sizes, in the same order)',
    );
  }
}

/** The signature of an allReduce or broadcast call, its arguments checked. */
export function signature(op: CallSignature['op'], data: Float32Array | undefined, arg: number | ReduceOp, worldSize: number): CallSignature {
  if (op !== 'barrier' && !(data instanceof Float32Array)) throw new KilnError(`${op} takes a Float32Array, got ${Object.prototype.toString.call(data)}`);
  if (op === 'allReduce' && arg !== 'sum' && arg !== 'mean') throw new KilnError(`allReduce op must be 'sum' or 'mean', got '${String(arg)}'`);
  if (op === 'broadcast') checkRank(arg as number, worldSize, 'broadcast root');
  const code = arg === 'sum' ? 0 : arg === 'mean' ? 1 : (arg as number);
  return { op, length: data?.length ?? 0, arg: code };
}

/** Throws unless `rank` is an integer in [0, worldSize). */
export function checkRank(rank: number, worldSize: number, what = 'rank'): number {
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new KilnError(`Invalid ${what} ${rank}, ${what} should be in the interval [0, ${worldSize - 1}]`);
  }
  return rank;
}

/** Throws unless `n` is a positive integer world size. */
export function checkWorldSize(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new KilnError(`worldSize must be a positive integer, got ${n}`);
  return n;
}

/**
 * out[i] = round_f32(sum over ranks r in order of parts[r][from + i]), divided by the rank count
 * for a mean, with the sum kept in float64 (exact for a few ranks' f32 values).
 */
export function reduceRange(parts: readonly Float32Array[], from: number, to: number, mean: boolean, out: Float32Array, outOffset = 0): void {
  const ranks = parts.length;
  for (let i = from; i < to; i++) {
    let s = 0;
    for (let r = 0; r < ranks; r++) s += parts[r]![i]!;
    out[outOffset + i - from] = mean ? s / ranks : s;
  }
}
