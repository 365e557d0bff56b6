// Sessions created and released again and again must not keep memory: JavaScript objects, GPU
// buffers and pipelines, or native memory behind them (Dawn devices, Mesa's per-device state).
// Resident memory grows while allocators and shader caches warm up, then must stay flat; the
// bounds below allow that warm-up and the allocator's noise (about 10 MiB here), and fail for a
// leak of 0.2 MiB per session with a shared device or 0.5 MiB per session with its own device.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { packArtifact } from '../../src/artifact-writer/pack.js';
import { acquireDevice, NoAdapterError } from '../../src/runtime/device.js';
import { InferenceSession } from '../../src/runtime/inference-session.js';

const MODEL = parseGraph(`graph g(%x: f32[64,64] @webgpu, %w: f32[64,64] @webgpu) -> (f32[64,64] @webgpu) {
  %0 = matmul(%x, %w) : f32[64,64] @webgpu
  %1 = relu(%0) : f32[64,64] @webgpu
  return %1
}`);
const feeds = {
  x: tensorData('f32', [64, 64], Array.from({ length: 4096 }, (_, i) => (i % 7) - 3)),
  w: tensorData('f32', [64, 64], Array.from({ length: 4096 }, (_, i) => (i % 5) / 5)),
};

// A full collection before each reading, so garbage not yet collected does not count as kept.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const rssMiB = (): number => {
  gc();
  return process.memoryUsage().rss / 2 ** 20;
};

/** RSS after `warm` rounds and after all `rounds` of `round()`. */
async function rssGrowth(rounds: number, warm: number, round: () => Promise<void>): Promise<{ warm: number; end: number }> {
  let atWarm = 0;
  for (let i = 1; i <= rounds; i++) {
    await round();
    if (i === warm) atWarm = rssMiB();
  }
  return { warm: atWarm, end: rssMiB() };
}

describe('creating and releasing sessions keeps memory flat', async () => {
  const packed = await packArtifact(compile(MODEL));
  const expected = (await import('../../src/runtime/cpu/executor.js')).runOnCpu(MODEL, feeds)[MODEL.outputs[0]!.name]!;
  const gpuAvailable = await acquireDevice().then((d) => { d.destroy(); return true; }, (e) => {
    if (e instanceof NoAdapterError && !process.env['KILN_REQUIRE_GPU']) return false;
    throw e;
  });

  it.runIf(gpuAvailable)('200 sessions on one shared device', async () => {
    const device = await acquireDevice();
    try {
      const { warm, end } = await rssGrowth(200, 50, async () => {
        const s = await InferenceSession.fromFiles(packed, { device });
        const y = Object.values(await s.run(feeds))[0]!;
        expect(y.data[5]).toBe(expected.data[5]);
        await s.release();
      });
      console.log(`[leak] 200 sessions, shared device: RSS ${warm.toFixed(1)} MiB after 50, ${end.toFixed(1)} MiB after 200`);
      expect(end - warm).toBeLessThan(100);
    } finally {
      device.destroy();
    }
  });

  it.runIf(gpuAvailable)('200 sessions, each with a device of its own', async () => {
    const { warm, end } = await rssGrowth(200, 50, async () => {
      const s = await InferenceSession.fromFiles(packed);
      await s.run(feeds);
      await s.release();
    });
    console.log(`[leak] 200 sessions, own devices: RSS ${warm.toFixed(1)} MiB after 50, ${end.toFixed(1)} MiB after 200`);
    expect(end - warm).toBeLessThan(100);
  });
});
