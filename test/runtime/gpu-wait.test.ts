// The GPU waiter's sleep, driven by a stand-in for the GPU (work that finishes a set time after
// it was submitted) instead of a device.
import { describe, expect, it } from 'vitest';
import { GpuWaiter } from '../../src/runtime/gpu-wait.js';

/** One run whose work finishes `ms` after submission, however long the waiter sleeps first. */
async function run(w: GpuWaiter, ms: number): Promise<void> {
  const doneAt = performance.now() + ms;
  await w.wait(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, doneAt - performance.now()))));
}

describe('GpuWaiter', () => {
  it('with steady run times, sleeps through most of one run', async () => {
    const w = new GpuWaiter('sleep');
    for (let i = 0; i < 4; i++) await run(w, 40);
    // Timers may fire a little early or late on a busy machine: the bounds leave room for that.
    expect(w.plannedSleepMs).toBeGreaterThanOrEqual(0.85 * 40 * 0.75);
    expect(w.plannedSleepMs).toBeLessThan(0.85 * 40 * 2);
  });

  it('with spread run times, sleeps through the fastest recent run, not the average', async () => {
    const w = new GpuWaiter('sleep');
    // The first run is not observed; then one fast run among slow ones (as under CPU contention).
    for (const ms of [10, 20, 200, 200, 200]) await run(w, ms);
    // An average would sleep ~150 ms here and oversleep the next fast run by over 100 ms.
    expect(w.plannedSleepMs).toBeLessThan(0.85 * 60);
  });

  it("'spin' never sleeps, and short runs are not worth a timer", async () => {
    const spin = new GpuWaiter('spin');
    for (let i = 0; i < 3; i++) await run(spin, 30);
    expect(spin.plannedSleepMs).toBe(0);
    const short = new GpuWaiter('sleep');
    for (let i = 0; i < 3; i++) await run(short, 1);
    expect(short.plannedSleepMs).toBe(0);
  });
});
