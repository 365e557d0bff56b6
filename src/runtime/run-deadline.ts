import { KilnError } from '../ir/errors.js';

// A run's deadline: the GPU cannot be interrupted, so a late run is rejected while its work goes
// on, and the session's queue waits for that work before the next run touches the same buffers.

/** A run did not finish within its deadline (SessionOptions.runTimeoutMs, RunOptions.timeoutMs). */
export class RunTimeoutError extends KilnError {
  override name = 'RunTimeoutError';
}

export const DEFAULT_RUN_TIMEOUT_MS = 60_000;

/**
 * `job`, or a rejection with `error()` once `ms` have passed (0 or Infinity: no deadline). The
 * job goes on regardless (the GPU cannot be interrupted); its late outcome is dropped.
 */
export function withDeadline<T>(job: Promise<T>, ms: number, error: () => Error): Promise<T> {
  if (!(ms > 0 && Number.isFinite(ms))) return job;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(error()), ms);
    // A pending deadline must not keep a Node process alive by itself.
    (timer as { unref?: () => void }).unref?.();
    job.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e: unknown) => { clearTimeout(timer); reject(e); },
    );
  });
}
