import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import type { DdpConfig, RankResult } from '../../../examples/train-mnist-ddp/worker.js';

// The data-parallel MNIST example, shortened: the same MLP, seed and global batch of 64, trained
// by 1 worker thread and by 2 (each with its own WebGPU device, 32 images a step each). Two
// replicas on half batches with averaged gradients take the steps one takes on the whole batch,
// so they reach the same accuracy. The full run is `npm run train-mnist-ddp`.
const WORKER = new URL('../../../examples/train-mnist-ddp/worker.ts', import.meta.url);
const CONFIG: DdpConfig = { epochs: 2, globalBatch: 64, lr: 1e-3, finalLrFraction: 0.5, seed: 1, trainCount: 3200, testCount: 1000, readLossEvery: 5 };

describe('DistributedDataParallel over worker threads (MNIST MLP)', () => {
  it('2 replicas reach the accuracy of 1 (within 0.5 points) with the same seed, and stay in sync', async () => {
    if (!(await kiln.webgpu.isAvailable())) {
      expect(process.env['KILN_REQUIRE_GPU'] ?? '0').toBe('0');
      return;
    }
    const one = await kiln.distributed.spawn<RankResult, DdpConfig>(WORKER, { worldSize: 1, data: CONFIG });
    const two = await kiln.distributed.spawn<RankResult, DdpConfig>(WORKER, { worldSize: 2, data: CONFIG });
    expect(one[0]!.steps).toBe(100);
    expect(two.map((r) => r.steps)).toEqual([100, 100]);
    // Training happened: the loss fell and the accuracy is far above chance (0.1).
    const [first, last] = [one[0]!.losses[0]!, one[0]!.losses.at(-1)!];
    expect(last).toBeLessThan(first / 3);
    expect(one[0]!.accuracy!).toBeGreaterThan(0.85);
    expect(Math.abs(two[0]!.accuracy! - one[0]!.accuracy!)).toBeLessThanOrEqual(0.005);
    // Each rank's loss is on its half of the batch; their mean is the whole batch's loss, as on one device.
    two[0]!.losses.forEach((l, k) => expect((l + two[1]!.losses[k]!) / 2).toBeCloseTo(one[0]!.losses[k]!, 3));
  }, 300_000);
});
