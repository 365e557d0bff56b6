// Dawn's polls sleep between calls (dawn-poll.ts): native callbacks queued with setImmediate are
// delayed in Atomics.wait, JavaScript's own are not, and GPU waits still finish.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isNativeFunction } from '../../src/runtime/dawn-poll.js';
import { useGpu } from '../helpers/gpu.js';

describe('throttled Dawn polling', () => {
  const gpu = useGpu();
  afterEach(() => vi.restoreAllMocks());

  it('delays native callbacks only: Dawn\'s poll is one, JavaScript\'s own are not', async () => {
    gpu();
    expect(isNativeFunction(() => 0)).toBe(false);
    expect(isNativeFunction(async function poll() {})).toBe(false);
    expect(isNativeFunction((() => 0).bind(null))).toBe(true);
    expect(isNativeFunction(Math.max)).toBe(true);
    expect(isNativeFunction('x')).toBe(false);
    const wait = vi.spyOn(Atomics, 'wait');
    let ran = false;
    await new Promise<void>((resolve) => setImmediate((() => { ran = true; resolve(); }).bind(null)));
    expect(ran).toBe(true);
    expect(wait).toHaveBeenCalled();
    expect(wait.mock.calls.every((c) => (c[3] ?? 0) > 0)).toBe(true);
  });

  it("keeps setImmediate's promisified form", async () => {
    gpu();
    const { promisify } = await import('node:util');
    await expect(promisify(setImmediate)('done')).resolves.toBe('done');
  });

  it('polls by sleeping while a GPU wait is pending, and the wait finishes', async () => {
    const device = gpu().device;
    const wait = vi.spyOn(Atomics, 'wait');
    const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ });
    await buffer.mapAsync(GPUMapMode.READ);
    expect(new Uint8Array(buffer.getMappedRange()).length).toBe(16);
    buffer.destroy();
    expect(wait).toHaveBeenCalled();
  });
});
