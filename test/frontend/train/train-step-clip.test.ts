import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { expectClose } from '../../helpers/compare.js';
import { useDefaultGpu } from '../default-gpu.js';

const { nn, optim } = kiln;

function mlp(seed: number) {
  kiln.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(6, 8), new nn.GELU(), new nn.Linear(8, 3));
}

const loss = (m: kiln.Module, b: Record<string, kiln.Tensor>) => kiln.crossEntropy(m.call(b.x!), b.y!);

describe('compiled training step with gradient clipping (maxGradNorm)', () => {
  const gpu = useDefaultGpu();

  // 0.05 clips every step of this model; 1e3 never does (the norms are near 1).
  for (const maxNorm of [0.05, 1e3]) {
    it(`matches eager backward(), clipGradNorm_(params, ${maxNorm}) and AdamW's step(), and reports the norm before clipping`, async () => {
      const batches = [0, 1, 2].map((k) => {
        kiln.manualSeed(200 + k);
        return { x: kiln.randn([5, 6]).mul(3), y: kiln.tensor([0, 2, 1, 1, 0], { dtype: 'int32' }) };
      });
      const eager = mlp(1);
      await eager.to(gpu());
      const eagerOpt = new optim.AdamW(eager.parameters(), { lr: 0.01 });
      const eagerLosses: number[] = [];
      const eagerNorms: number[] = [];
      for (const b of batches) {
        eagerOpt.zeroGrad();
        const l = loss(eager, { x: await b.x.to(gpu()), y: await b.y.to(gpu()) });
        await l.backward();
        eagerNorms.push((await nn.utils.clipGradNorm_(eager.parameters(), maxNorm).to('cpu')).item() as number);
        eagerOpt.step();
        eagerLosses.push((await l.to('cpu')).item() as number);
      }
      const model = mlp(1);
      const opt = new optim.AdamW(model.parameters(), { lr: 0.01 });
      const step = await kiln.compileTrainStep(model, loss, opt, batches[0]!, { device: gpu(), maxGradNorm: maxNorm });
      try {
        for (const [i, b] of batches.entries()) {
          const r = await step.run(b);
          expect(r.loss).toBeCloseTo(eagerLosses[i]!, 4);
          expect(r.gradNorm).toBeCloseTo(eagerNorms[i]!, 4);
        }
        expect(Math.min(...eagerNorms) > maxNorm).toBe(maxNorm < 1);
        await step.syncToModel();
        const a = model.namedParameters();
        const e = eager.namedParameters();
        for (let i = 0; i < a.length; i++) expectClose(a[i]![1].data, (await e[i]![1].to('cpu')).data, 2e-5, 1e-3);
      } finally {
        step.destroy();
      }
    });
  }

  it('refuses a negative maxGradNorm', async () => {
    const model = mlp(2);
    const b = { x: kiln.randn([5, 6]), y: kiln.tensor([0, 1, 2, 0, 1], { dtype: 'int32' }) };
    await expect(kiln.compileTrainStep(model, loss, new optim.SGD(model.parameters(), { lr: 0.1 }), b, { device: gpu(), maxGradNorm: -1 }))
      .rejects.toThrow(/maxGradNorm must be non-negative/);
  });
});
