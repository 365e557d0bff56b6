import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import type { StepReport } from '../../../src/index.js';
import { useDefaultGpu } from '../default-gpu.js';

const { nn, optim } = kiln;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Share of the loop's wall time spent waiting for data, over steps after the first (which nothing can overlap). */
const waitShare = (rs: readonly StepReport[]) => {
  const steady = rs.slice(1);
  return steady.reduce((s, r) => s + r.dataWaitMs, 0) / steady.reduce((s, r) => s + r.stepMs, 0);
};

describe('data pipeline', () => {
  const gpu = useDefaultGpu();

  it('DataLoader over a dataset of whole batches (batchSize: null) yields them in order, prepares `prefetchFactor` ahead, and reports a failing batch when consumed', async () => {
    const started: number[] = [];
    const same = (b: number) => b;
    const loader = new kiln.DataLoader({ length: 5, get: (i: number) => { started.push(i); return i * 10; } }, { batchSize: null, collate: same, prefetchFactor: 2 });
    const it = loader[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    expect(started).toEqual([0, 1, 2]);
    const rest: number[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    expect(rest).toEqual([10, 20, 30, 40]);
    const failing = new kiln.DataLoader({ length: 3, get: async (i: number) => { if (i === 1) throw new Error('bad batch 1'); return i; } }, { batchSize: null, collate: same });
    const got: number[] = [];
    await expect((async () => { for await (const b of failing) got.push(b); })()).rejects.toThrow(/bad batch 1/);
    expect(got).toEqual([0]);
  });

  it('batches from worker threads (in shared memory) train exactly as batches from the main thread', async () => {
    kiln.manualSeed(4);
    const x = kiln.randn([96, 4]);
    const y = kiln.tensor((x.tolist() as number[][]).map((r) => (r[0]! > r[1]! ? 1 : 0)), { dtype: 'int64' });
    const losses = async (numWorkers: number) => {
      const loader = new kiln.data.DataLoader<kiln.Tensor[], { x: kiln.Tensor; y: kiln.Tensor }>(new kiln.data.TensorDataset(x, y), {
        batchSize: 16, shuffle: true, generator: new kiln.Random(2), numWorkers,
        workerCollate: { module: new URL('../../fixtures/worker-datasets.ts', import.meta.url), export: 'namedPair' },
      });
      kiln.manualSeed(9);
      const model = new nn.Linear(4, 2);
      const example = { x: kiln.zeros([16, 4]), y: kiln.zeros([16], { dtype: 'int32' }) };
      const step = await kiln.compileTrainStep(model, (m, b) => kiln.crossEntropy(m.call(b.x!), b.y!), new optim.SGD(model.parameters(), { lr: 0.3 }), example, {
        device: gpu(), readLossEvery: 1,
      });
      try {
        const out: number[] = [];
        for (let epoch = 0; epoch < 2; epoch++) out.push(...(await kiln.trainLoop(step, loader)).map((r) => r.loss!));
        return out;
      } finally {
        step.destroy();
      }
    };
    const main = await losses(0);
    expect(main).toHaveLength(12);
    expect(await losses(2)).toEqual(main);
  });

  it('a shuffled kiln.data.DataLoader over a TensorDataset feeds a compiled training step, and the loss falls', async () => {
    kiln.manualSeed(3);
    const n = 256;
    const x = kiln.randn([n, 4]);
    // Labels from a fixed rule the model can learn: the index of the largest of the first 3 features.
    const xs = x.tolist() as number[][];
    const y = kiln.tensor(xs.map((r) => r.slice(0, 3).indexOf(Math.max(...r.slice(0, 3)))), { dtype: 'int64' });
    const loader = new kiln.data.DataLoader(new kiln.data.TensorDataset(x, y), {
      batchSize: 32, shuffle: true, generator: new kiln.Random(1), dropLast: true,
      collate: (s) => { const [xb, yb] = kiln.data.defaultCollate(s); return { x: xb!, y: yb! }; },
    });
    const model = new nn.Linear(4, 3);
    const example = { x: kiln.zeros([32, 4]), y: kiln.zeros([32], { dtype: 'int32' }) };
    const step = await kiln.compileTrainStep(model, (m, b) => kiln.crossEntropy(m.call(b.x!), b.y!), new optim.SGD(model.parameters(), { lr: 0.5 }), example, {
      device: gpu(), readLossEvery: 1,
    });
    try {
      const losses: number[] = [];
      for (let epoch = 0; epoch < 4; epoch++) {
        const rs = await kiln.trainLoop(step, loader);
        expect(rs).toHaveLength(loader.length);
        losses.push(rs.reduce((acc, r) => acc + r.loss!, 0) / rs.length);
      }
      expect(losses[0]).toBeGreaterThan(0.5);
      expect(losses[3]).toBeLessThan(0.6 * losses[0]!);
    } finally {
      step.destroy();
    }
  });

  it('with overlap, a slow loader costs < 10% of step time; without overlap the same loader costs its full preparation time', async () => {
    kiln.manualSeed(7);
    const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
    const batch = { x: kiln.randn([64, 784]), y: kiln.tensor(Array.from({ length: 64 }, (_, i) => i % 10), { dtype: 'int32' }) };
    const host = { x: batch.x.data, y: batch.y.data };
    const step = await kiln.compileTrainStep(model, (m, b) => kiln.crossEntropy(m.call(b.x!), b.y!), new optim.SGD(model.parameters(), { lr: 0.01 }), batch, {
      device: gpu(), readLossEvery: 1000,
    });
    try {
      // The device's time per step, with data always ready.
      const warm = await kiln.trainLoop(step, new kiln.DataLoader({ length: 12, get: () => host }, { batchSize: null }));
      const stepMs = warm.slice(2).reduce((s, r) => s + r.stepMs, 0) / (warm.length - 2);
      // Host preparation that takes 60% of a step: without overlap every step pays it in full.
      const prepMs = Math.max(3, 0.6 * stepMs);
      const slow = (prefetchFactor: number) => new kiln.DataLoader({ length: 12, get: async () => { await sleep(prepMs); return host; } }, { batchSize: null, prefetchFactor });
      const overlapped = await kiln.trainLoop(step, slow(2));
      const baseline = await kiln.trainLoop(step, slow(0), { overlap: false });
      const share = waitShare(overlapped);
      const baseShare = waitShare(baseline);
      console.log(`step ${stepMs.toFixed(1)} ms, preparation ${prepMs.toFixed(1)} ms: data wait ${(share * 100).toFixed(1)}% of step time with overlap, ${(baseShare * 100).toFixed(1)}% without`);
      expect(share).toBeLessThan(0.1);
      expect(baseShare).toBeGreaterThan(0.25);
      expect(overlapped.every((r) => r.dataWaitMs >= 0 && r.stepMs > 0)).toBe(true);
    } finally {
      step.destroy();
    }
  });
});
