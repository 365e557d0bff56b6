// dawn.node learns that GPU work finished by polling: while any of its promises (mapAsync,
// onSubmittedWorkDone) is pending, it calls ProcessEvents from a callback it re-queues with the
// global setImmediate, a busy loop that holds a whole core. On a software adapter that core is one
// the shader threads need. Sleeping through most of the expected time first (GpuWaiter) frees it
// only until the poll starts, and not at all for waits outside a session's run.
//
// So past a wait's first SPIN_MS, each of Dawn's polls first sleeps POLL_INTERVAL_MS in
// Atomics.wait: the thread sleeps instead of spinning, and finished work is seen at most that much
// later. Only native callbacks are delayed (Dawn's poll is one; JavaScript's own setImmediate
// callbacks are not native), so the process's other setImmediate users are untouched. Measured on
// lavapipe (2 cores): a compute-bound kernel ran at 44 GFLOP/s instead of 30, PP-OCR cls's summed
// kernel times fell 6.0 -> 5.2 ms; sleeping from the first poll instead of after 0.25 ms made the
// transformer block's warm run 0.56-0.81 ms instead of 0.46-0.47, matmul 512^3 11.6-11.8 ms
// instead of 9.2-9.8.

/** How long each of Dawn's polls sleeps first (Linux makes it about 0.12 ms): finished work is seen at most that late. */
const POLL_INTERVAL_MS = 0.05;
/** A wait's first polls do not sleep, so short GPU work (a small model's run) is seen at once. */
const SPIN_MS = 0.25;
/** Polls further apart than this belong to different waits. */
const WAIT_GAP_MS = 1;

let installed = false;

/** Whether `fn` is native code (as Dawn's poll callback is), not a JavaScript function. */
export function isNativeFunction(fn: unknown): boolean {
  return typeof fn === 'function' && Function.prototype.toString.call(fn).endsWith('{ [native code] }');
}

/** Makes dawn.node's polling sleep between polls instead of spinning (once per process; a no-op where there is no setImmediate, as in browsers). */
export function throttleDawnPolling(): void {
  const queue = (globalThis as { setImmediate?: (fn: (...args: unknown[]) => void, ...args: unknown[]) => unknown }).setImmediate;
  if (installed || typeof queue !== 'function') return;
  installed = true;
  // Where this thread may not block (a browser-like main thread), polling stays as it is.
  let cell: Int32Array;
  try {
    cell = new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(cell, 0, 0, 0);
  } catch {
    return;
  }
  let waitStart = -Infinity;
  let lastPoll = -Infinity;
  const throttled = (fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (isNativeFunction(fn)) {
      const now = performance.now();
      if (now - lastPoll > WAIT_GAP_MS) waitStart = now;
      if (now - waitStart >= SPIN_MS) Atomics.wait(cell, 0, 0, POLL_INTERVAL_MS);
      lastPoll = performance.now();
    }
    return queue(fn, ...args);
  };
  // Keep what hangs on the original (util.promisify.custom, its name).
  Object.defineProperties(throttled, Object.getOwnPropertyDescriptors(queue));
  (globalThis as { setImmediate: unknown }).setImmediate = throttled;
}
