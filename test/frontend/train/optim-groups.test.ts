import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { useDefaultGpu } from '../default-gpu.js';

const { nn, optim } = kiln;

const values = async (t: kiln.Tensor) => (await t.to('cpu')).tolist() as number[];

describe('optimizers: parameter groups, state dicts, zeroGrad, gradient clipping', () => {
  const gpu = useDefaultGpu();

  it('each group updates with its own hyperparameters, the defaults filling the rest', async () => {
    const a = kiln.tensor([1, 2], { requiresGrad: true });
    const b = kiln.tensor([3], { requiresGrad: true });
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5, weightDecay: 0.1 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.params.length])).toEqual([[0.1, 0, 1], [0.5, 0.1, 1]]);
    a.grad = kiln.tensor([1, -1]);
    b.grad = kiln.tensor([2]);
    opt.step();
    // p - lr * (g + wd * p), in doubles.
    (await values(a)).forEach((v, i) => expect(v).toBeCloseTo([1 - 0.1 * 1, 2 - 0.1 * -1][i]!, 6));
    expect((await values(b))[0]).toBeCloseTo(3 - 0.5 * (2 + 0.1 * 3), 6);
  });

  it('refuses an empty parameter list, a parameter in two groups, and a mix of tensors and groups', () => {
    const a = kiln.tensor([1], { requiresGrad: true });
    expect(() => new optim.Adam([])).toThrow(/empty parameter list/);
    expect(() => new optim.Adam(new nn.ReLU().parameters())).toThrow(/empty parameter list/);
    expect(() => new optim.SGD([{ params: [a] }, { params: [a] }], { lr: 1 })).toThrow(/more than once/);
    expect(() => new optim.SGD([a, { params: [a] }] as never, { lr: 1 })).toThrow(/not a mix/);
    expect(() => new optim.SGD([{ params: [a], lr: -1 }], { lr: 1 })).toThrow(/Invalid learning rate: -1/);
  });

  it('a compiled training step reads each group\'s learning rate', async () => {
    kiln.manualSeed(2);
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    const [first, second] = [model.at(0)!.parameters(), model.at(2)!.parameters()];
    const opt = new optim.Adam([{ params: first }, { params: second, lr: 0 }], { lr: 0.05 });
    const batch = { x: kiln.randn([6, 4]), y: kiln.tensor([0, 1, 0, 1, 1, 0], { dtype: 'int64' }) };
    const frozen = await Promise.all(second.map(values));
    const moving = await Promise.all(first.map(values));
    const step = await kiln.compileTrainStep(model, (m, b) => kiln.crossEntropy(m.call(b.x!), b.y!), opt, batch, { device: gpu() });
    try {
      for (let k = 0; k < 3; k++) await step.run(batch);
      await step.syncToModel();
    } finally {
      step.destroy();
    }
    expect(await Promise.all(second.map(values))).toEqual(frozen);
    expect(await Promise.all(first.map(values))).not.toEqual(moving);
  });

  it('stateDict/loadStateDict resume an optimizer exactly (Adam on WebGPU)', async () => {
    const grads = [[0.5, -1, 2], [0.3, 0.2, -0.5], [-1, 0.4, 0.2], [0.7, 0.1, -0.2]];
    const run = async (resumeAt?: number) => {
      const p = await kiln.tensor([1, -2, 0.5]).to(gpu());
      p.requiresGrad = true;
      let opt = new optim.Adam([{ params: [p], lr: 0.01, betas: [0.8, 0.99] as const }]);
      for (const [k, g] of grads.entries()) {
        if (k === resumeAt) {
          const saved = opt.stateDict();
          expect(Object.keys(saved.state[0]!)).toEqual(['exp_avg', 'exp_avg_sq']);
          expect(saved.paramGroups).toEqual([{ lr: 0.01, betas: [0.8, 0.99], eps: 1e-8, weightDecay: 0, params: [0] }]);
          opt = new optim.Adam([p], { lr: 1 });
          await opt.loadStateDict(saved);
          expect(opt.paramGroups[0]!.betas).toEqual([0.8, 0.99]);
        }
        p.grad = await kiln.tensor(g).to(gpu());
        opt.step();
      }
      return values(p);
    };
    expect(await run(2)).toEqual(await run());
    const q = kiln.tensor([1, 2, 3, 4], { requiresGrad: true });
    await expect(new optim.Adam([q]).loadStateDict({ state: {}, paramGroups: [], stepCount: 0 })).rejects.toThrow(/0 parameter groups, the optimizer 1/);
  });

  it('zeroGrad sets gradients to undefined, or zeroes them in place with setToNone: false', async () => {
    const p = await kiln.tensor([1, 2]).to(gpu());
    p.requiresGrad = true;
    const opt = new optim.SGD([p], { lr: 0.1 });
    const g = await kiln.tensor([5, 6]).to(gpu());
    p.grad = g;
    opt.zeroGrad({ setToNone: false });
    expect(p.grad).toBe(g);
    expect(await values(g)).toEqual([0, 0]);
    opt.zeroGrad();
    expect(p.grad).toBeUndefined();
  });

  for (const normType of [2, 1, Infinity]) {
    it(`clipGradNorm_ (norm ${normType}) scales by min(1, maxNorm / (norm + 1e-6)) over all gradients`, async () => {
      const gs = [[3, -4], [1, 2, -2]];
      const ps = await Promise.all(gs.map(async (g) => {
        const p = await kiln.zeros([g.length]).to(gpu());
        p.grad = await kiln.tensor(g).to(gpu());
        return p;
      }));
      const all = gs.flat();
      const norm = normType === Infinity ? Math.max(...all.map(Math.abs)) : all.reduce((s, v) => s + Math.abs(v) ** normType, 0) ** (1 / normType);
      const total = nn.utils.clipGradNorm_(ps, 2, normType);
      expect((await values(total.reshape(1)))[0]).toBeCloseTo(norm, 4);
      const coef = Math.min(1, 2 / (norm + 1e-6));
      for (const [i, p] of ps.entries()) (await values(p.grad!)).forEach((v, j) => expect(v).toBeCloseTo(gs[i]![j]! * coef, 5));
      // Under the limit nothing changes.
      nn.utils.clipGradNorm_(ps, 1000, normType);
      for (const [i, p] of ps.entries()) (await values(p.grad!)).forEach((v, j) => expect(v).toBeCloseTo(gs[i]![j]! * coef, 5));
    });
  }
});
