import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { expectClose } from '../../helpers/compare.js';
import { useDefaultGpu } from '../default-gpu.js';

const { nn, optim } = kiln;

function mlp(seed: number) {
  kiln.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 3));
}

function cnn(seed: number) {
  kiln.manualSeed(seed);
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Conv2d(4, 5, 3, { padding: 1 }), new nn.ReLU(),
    new nn.AvgPool2d(2), new nn.Flatten(), new nn.Linear(20, 3),
  );
}

const loss = (m: kiln.Module, b: Record<string, kiln.Tensor>) => kiln.crossEntropy(m.call(b.x!), b.y!);

describe('compiled training step', () => {
  const gpu = useDefaultGpu();

  const cases = [
    ['an MLP with SGD (momentum, weight decay)', mlp, [5, 6], (ps: kiln.Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })],
    ['a CNN with Adam', cnn, [5, 1, 10, 10], (ps: kiln.Tensor[]) => new optim.Adam(ps, { lr: 0.01 })],
    ['an MLP with AdamW', mlp, [5, 6], (ps: kiln.Tensor[]) => new optim.AdamW(ps, { lr: 0.01 })],
    ['an MLP with Adagrad (an initial accumulator, lr decay)', mlp, [5, 6], (ps: kiln.Tensor[]) => new optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.1, initialAccumulatorValue: 0.5 })],
  ] as const;
  for (const [what, make, xShape, makeOpt] of cases) {
    it(`trains ${what} exactly as eager backward() + step() do`, async () => {
      const batches = [0, 1, 2].map((k) => {
        kiln.manualSeed(100 + k);
        return { x: kiln.randn([...xShape]), y: kiln.tensor([0, 2, 1, 1, 0], { dtype: 'int32' }) };
      });
      // Eager, on the device.
      const eager = make(1);
      await eager.to(gpu());
      const eagerOpt = makeOpt(eager.parameters());
      const eagerLosses: number[] = [];
      for (const b of batches) {
        eagerOpt.zeroGrad();
        const l = loss(eager, { x: await b.x.to(gpu()), y: await b.y.to(gpu()) });
        await l.backward();
        eagerOpt.step();
        eagerLosses.push((await l.to('cpu')).item() as number);
      }
      // Compiled: one program per step, parameters on the device.
      const model = make(1);
      const opt = makeOpt(model.parameters());
      const step = await kiln.compileTrainStep(model, loss, opt, batches[0]!, { device: gpu() });
      try {
        const submits = step.session.stats.submits;
        const losses: number[] = [];
        for (const b of batches) losses.push((await step.run(b)).loss!);
        expect(step.session.stats.submits - submits).toBe(3);
        losses.forEach((l, i) => expect(l).toBeCloseTo(eagerLosses[i]!, 4));
        await step.syncToModel();
        expect(opt.stepCount).toBe(3);
        const a = model.namedParameters();
        const e = eager.namedParameters();
        for (let i = 0; i < a.length; i++) expectClose(a[i]![1].data, (await e[i]![1].to('cpu')).data, 2e-5, 1e-3);
      } finally {
        step.destroy();
      }
    });
  }

  it('reads the loss back only every N steps, and continues from where eager training left off', async () => {
    const model = mlp(3);
    const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
    const b = { x: kiln.randn([5, 6]), y: kiln.tensor([0, 1, 2, 0, 1], { dtype: 'int32' }) };
    const step = await kiln.compileTrainStep(model, loss, opt, b, { device: gpu(), readLossEvery: 3 });
    try {
      const got = [];
      for (let k = 0; k < 6; k++) got.push((await step.run({ x: b.x.data, y: b.y.data })).loss);
      expect(got.map((l) => l !== undefined)).toEqual([true, false, false, true, false, false]);
      expect(got[3]!).toBeLessThan(got[0]!);
      expect((await step.run(b, { readLoss: true })).loss).toBeLessThan(got[3]!);
      // The learning rate is read at every step: 0 freezes the parameters.
      opt.lr = 0;
      const l1 = (await step.run(b, { readLoss: true })).loss!;
      const l2 = (await step.run(b, { readLoss: true })).loss!;
      expect(l2).toBe(l1);
    } finally {
      step.destroy();
    }
  });

  it('explains a batch that does not match the example', async () => {
    const model = mlp(3);
    const b = { x: kiln.randn([5, 6]), y: kiln.tensor([0, 1, 2, 0, 1], { dtype: 'int32' }) };
    const step = await kiln.compileTrainStep(model, loss, new optim.SGD(model.parameters(), { lr: 0.1 }), b, { device: gpu() });
    try {
      await expect(step.run({ x: b.x })).rejects.toThrow(/the batch has no 'y'/);
      await expect(step.run({ x: kiln.randn([4, 6]), y: b.y })).rejects.toThrow(/input 'x' expects f32\[5,6\], got f32\[4,6\]/);
    } finally {
      step.destroy();
    }
  });
});
