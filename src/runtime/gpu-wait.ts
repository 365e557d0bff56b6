// A plain timer rather than node:timers/promises, so the runtime also bundles for browsers.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How a run waits for the GPU: 'sleep' through most of the expected time first, or start polling at once ('spin'). */
export type WaitStrategy = 'sleep' | 'spin';

// Below this, a timer's millisecond granularity costs more than the spinning it saves (measured:
// 100 tiny dispatches, ~2.5 ms a run, were 10-20% slower sleeping; a 7-9 ms run was 25% faster).
const MIN_SLEEP_MS = 3;
// Wake a little early: oversleeping adds latency, while waking early only spins a little.
const SLEEP_FRACTION = 0.85;
// Work found finished within this long of waking was finished before we woke (measured: mapAsync
// on finished work resolves in ~0.05 ms).
const OVERSLEPT_MARGIN_MS = 0.2;
// After oversleeping we only know the GPU time is below the sleep: probe lower, quickly.
const OVERSLEPT_BACKOFF = 0.8;
// How many recent runs the estimate looks back over.
const WINDOW = 8;

/**
 * Waits for submitted GPU work. dawn.node polls while any of its promises is pending; even
 * throttled (dawn-poll.ts) the polls take some CPU from the shader threads of a software adapter,
 * so we first sleep on a timer, with nothing of Dawn's pending, for most of the time the previous
 * runs took, and only then start the wait (mapAsync). Shapes are static, so a program's GPU time
 * is nearly constant from run to run; the estimate adapts when it is not. Measured on lavapipe
 * (2 cores), naive matmul, ms per run with Dawn's polls spinning, polling at once vs sleeping
 * first: 256^3 22 vs 13, 384^3 64-89 vs 39; with the polls throttled, PP-OCR cls 7.0 vs 5.7 ms.
 * Sleeping is on a timer, so other JavaScript keeps running meanwhile.
 *
 * The sleep is the FASTEST of the last few runs, not their average: when other processes take
 * the cores, run times spread widely (measured on lavapipe beside other jobs, PP-OCR cls: 30 ms
 * to 1.2 s), and sleeping through an average oversleeps every fast run; sleeping through the
 * minimum loses at most a little spinning. With steady run times the two are the same.
 */
export class GpuWaiter {
  /** The last WINDOW observed run times (or, after oversleeping, a bound below the sleep). */
  private readonly recent: number[] = [];
  private observed = 0;

  constructor(private readonly strategy: WaitStrategy = 'sleep') {}

  /** Sleeps through the expected GPU time, then calls `start` (e.g. mapAsync) and awaits it. */
  async wait<T>(start: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    let slept = 0;
    const planned = this.plannedSleepMs;
    if (planned > 0) {
      await sleep(planned);
      slept = performance.now() - t0;
    }
    const result = await start();
    this.observe(performance.now() - t0, slept);
    return result;
  }

  private observe(ms: number, slept: number): void {
    // The first run after loading may include lazy driver work; it would skew the estimate.
    if (this.observed++ === 0) return;
    const overslept = slept > 0 && ms - slept < OVERSLEPT_MARGIN_MS;
    this.recent.push(overslept ? slept * OVERSLEPT_BACKOFF : ms);
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  /** The time the next wait sleeps through before it starts polling, in ms (0: it polls at once). */
  get plannedSleepMs(): number {
    if (this.strategy !== 'sleep' || !this.recent.length) return 0;
    const sleep = Math.min(...this.recent) * SLEEP_FRACTION;
    return sleep >= MIN_SLEEP_MS ? sleep : 0;
  }
}
