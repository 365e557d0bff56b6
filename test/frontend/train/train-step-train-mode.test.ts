import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { expectClose } from '../../helpers/compare.js';
import { useDefaultGpu } from '../default-gpu.js';

const { nn, optim } = kiln;

// A compiled training step with BatchNorm and Dropout in training mode: the running statistics
// are device state updated by every step, each step draws a new dropout mask, and the result
// matches eager training with the same seed.

function mlp() {
  kiln.manualSeed(1);
  return new nn.Sequential(new nn.BatchNorm1d(6), new nn.Linear(6, 8), new nn.ReLU(), new nn.Dropout(0.5), new nn.Linear(8, 3));
}

function cnn() {
  kiln.manualSeed(1);
  return new nn.Sequential(
    new nn.BatchNorm2d(1, { momentum: null }), new nn.Conv2d(1, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU(),
    new nn.Dropout(0.25), new nn.Flatten(), new nn.Linear(4 * 4 * 4, 3),
  );
}

const loss = (m: kiln.Module, b: Record<string, kiln.Tensor>) => kiln.crossEntropy(m.call(b.x!), b.y!);

/** Per-channel mean and unbiased variance of [N, C, ...] host values, in float64. */
function channelStats(x: kiln.Tensor): { mean: number[]; unbiased: number[] } {
  const [N, C] = x.shape as [number, number];
  const inner = x.numel() / (N * C);
  const v = x.data.data as Float32Array;
  const mean: number[] = [];
  const unbiased: number[] = [];
  for (let c = 0; c < C; c++) {
    const xs: number[] = [];
    for (let b = 0; b < N; b++) for (let i = 0; i < inner; i++) xs.push(v[(b * C + c) * inner + i]!);
    const m = xs.reduce((a, y) => a + y, 0) / xs.length;
    mean.push(m);
    unbiased.push(xs.reduce((a, y) => a + (y - m) ** 2, 0) / (xs.length - 1));
  }
  return { mean, unbiased };
}

describe('compiled training step in training mode', () => {
  const gpu = useDefaultGpu();

  const cases = [
    ['an MLP with BatchNorm1d and Dropout', mlp, [5, 6], 0.1],
    ['a CNN with BatchNorm2d (one cumulative) and Dropout', cnn, [5, 1, 6, 6], null],
  ] as const;
  for (const [what, make, xShape, momentum] of cases) {
    it(`trains ${what} as eager training with the same seed does`, async () => {
      const batches = [0, 1, 2].map((k) => {
        kiln.manualSeed(100 + k);
        return { x: kiln.randn([...xShape]).mul(k + 1).add(k), y: kiln.tensor([0, 2, 1, 1, 0], { dtype: 'int32' }) };
      });
      const eager = make();
      await eager.to(gpu());
      const eagerOpt = new optim.SGD(eager.parameters(), { lr: 0.1, momentum: 0.9 });
      const eagerLosses: number[] = [];
      kiln.manualSeed(7);
      for (const b of batches) {
        eagerOpt.zeroGrad();
        const l = loss(eager, { x: await b.x.to(gpu()), y: await b.y.to(gpu()) });
        await l.backward();
        eagerOpt.step();
        eagerLosses.push((await l.to('cpu')).item() as number);
      }

      const model = make();
      const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const step = await kiln.compileTrainStep(model, loss, opt, batches[0]!, { device: gpu() });
      try {
        kiln.manualSeed(7);
        const losses: number[] = [];
        for (const b of batches) losses.push((await step.run(b)).loss!);
        losses.forEach((l, i) => expect(l).toBeCloseTo(eagerLosses[i]!, 4));
        await step.syncToModel();
        const a = model.namedBuffers();
        const e = eager.namedBuffers();
        expect(a.map(([n]) => n)).toEqual(e.map(([n]) => n));
        for (let i = 0; i < a.length; i++) expectClose(a[i]![1].data, (await e[i]![1].to('cpu')).data, 2e-5, 1e-3);
        const p = model.namedParameters();
        const q = eager.namedParameters();
        for (let i = 0; i < p.length; i++) expectClose(p[i]![1].data, (await q[i]![1].to('cpu')).data, 2e-5, 1e-3);

        // The first BatchNorm sees the batches themselves: its running statistics against
        // PyTorch's formulas in float64 (momentum 0.1, or the cumulative average for null).
        let mean = new Array<number>(xShape[1]).fill(0);
        let variance = new Array<number>(xShape[1]).fill(1);
        batches.forEach((b, k) => {
          const s = channelStats(b.x);
          const f = momentum ?? 1 / (k + 1);
          mean = mean.map((r, c) => (1 - f) * r + f * s.mean[c]!);
          variance = variance.map((r, c) => (1 - f) * r + f * s.unbiased[c]!);
        });
        const bn = model.at(0) as InstanceType<typeof nn.BatchNorm1d>;
        expectClose(bn.runningMean!.data, kiln.tensor(mean).data, 1e-5, 1e-4);
        expectClose(bn.runningVar!.data, kiln.tensor(variance).data, 1e-5, 1e-4);
        expect(bn.numBatchesTracked!.item()).toBe(3);
      } finally {
        step.destroy();
      }
    });
  }

  it('updates the running statistics twice for a BatchNorm called twice in one step, as eagerly', async () => {
    class Twice extends nn.Module {
      bn = new nn.BatchNorm1d(3);
      forward(x: kiln.Tensor) { return this.bn.call(this.bn.call(x).mul(2).add(1)); }
    }
    const lossOf = (m: kiln.Module, q: Record<string, kiln.Tensor>) => m.call(q.x!).mul(q.x!).sum();
    kiln.manualSeed(5);
    const b = { x: kiln.randn([4, 3]) };
    const eager = new Twice();
    lossOf(eager, b);
    const model = new Twice();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const step = await kiln.compileTrainStep(model, lossOf, opt, b, { device: gpu() });
    try {
      await step.run(b);
      await step.syncToModel();
      expect(model.bn.numBatchesTracked!.item()).toBe(2);
      expectClose(model.bn.runningMean!.data, eager.bn.runningMean!.data, 1e-6, 1e-5);
      expectClose(model.bn.runningVar!.data, eager.bn.runningVar!.data, 1e-6, 1e-5);
    } finally {
      step.destroy();
    }
  });

  it('draws a new dropout mask for every step', async () => {
    kiln.manualSeed(2);
    const model = new nn.Sequential(new nn.Linear(4, 64), new nn.Dropout(0.5), new nn.Linear(64, 2));
    const opt = new optim.SGD(model.parameters(), { lr: 0 });
    const b = { x: kiln.randn([8, 4]), y: kiln.tensor([0, 1, 0, 1, 0, 1, 0, 1], { dtype: 'int32' }) };
    const step = await kiln.compileTrainStep(model, loss, opt, b, { device: gpu() });
    try {
      // With a learning rate of 0 only the mask changes the loss.
      const losses = new Set<number>();
      for (let k = 0; k < 4; k++) losses.add((await step.run(b)).loss!);
      expect(losses.size).toBe(4);
    } finally {
      step.destroy();
    }
  });
});
