import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { corpus, randomBatch, readCorpus, unigramEntropy } from '../../../examples/charlm/data.js';
import { CharLm } from '../../../examples/charlm/model.js';
import { evaluate, lmLoss, sample, trainCharLm, warmupCosine } from '../../../examples/charlm/train.js';
import { expectClose } from '../../helpers/compare.js';
import { useDefaultGpu } from '../default-gpu.js';

// The full example (npm run train-charlm) trains the 2-layer, width-128 model for minutes; this
// trains a tiny one through the same compiled step (AdamW, schedule, clipping) for a few steps.
describe('character language model example (short run)', () => {
  const gpu = useDefaultGpu();

  it('the unigram baseline is the entropy of the character counts, and the split keeps every character', () => {
    const c = corpus('aab\naab\naab\nabba', 0.25);
    expect(c.chars).toEqual(['\n', 'a', 'b']);
    expect(c.train.length + c.val.length).toBe(16);
    expect(c.val.length).toBe(4);
    // 'aab\n' three times: a 6, b 3, newline 3 of 12.
    const p = [6 / 12, 3 / 12, 3 / 12];
    expect(unigramEntropy(c.train, 3)).toBeCloseTo(-p.reduce((h, q) => h + q * Math.log(q), 0), 12);
  });

  it('the schedule warms up linearly, then follows a cosine down to its floor', () => {
    expect(warmupCosine(0, 10, 110, 0.1)).toBeCloseTo(0.1, 12);
    expect(warmupCosine(9, 10, 110, 0.1)).toBeCloseTo(1, 12);
    expect(warmupCosine(60, 10, 110, 0.1)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(warmupCosine(110, 10, 110, 0.1)).toBeCloseTo(0.1, 12);
  });

  it('a tiny model trains on WebGPU: the loss falls, validation beats the untrained model, samples are lines of the alphabet', async () => {
    const data = readCorpus();
    const r = await trainCharLm(gpu(), data, {
      model: { context: 16, layers: 2, heads: 2, dim: 16 },
      steps: 40, batchSize: 8, lr: 1e-2, warmupSteps: 4, minLrFraction: 0.1, weightDecay: 0.1, maxGradNorm: 1, readLossEvery: 4,
    });
    expect(r.losses.map(([s]) => s)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
    const [first] = r.losses[0]!.slice(1);
    const last = r.losses.slice(-3).reduce((a, [, l]) => a + l, 0) / 3;
    // An untrained model is near uniform over the characters: ln(vocab) nats.
    expect(first!).toBeGreaterThan(Math.log(data.chars.length) - 1);
    expect(last).toBeLessThan(first! - 0.8);
    const val = await evaluate(gpu(), r.model, data.val.subarray(0, 2000));
    expect(val).toBeLessThan(first! - 0.5);
    const lines = await sample(gpu(), r.model, data, { count: 2, prompt: 'And ', maxChars: 24, seed: 3 });
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l.length).toBeGreaterThan(0);
      expect(l.length).toBeLessThanOrEqual(24);
      expect([...l].every((ch) => ch !== '\n' && data.chars.includes(ch))).toBe(true);
    }
  });

  it('a compiled step of the model trains exactly as eager backward(), clipGradNorm_ and AdamW step() do', async () => {
    const data = readCorpus();
    const config = { vocab: data.chars.length, context: 12, layers: 2, heads: 2, dim: 16 };
    const rng = new kiln.Random(9);
    const batches = [0, 1, 2].map(() => randomBatch(data.train, 3, config.context, rng));
    kiln.manualSeed(21);
    const eager = new CharLm(config);
    await eager.to(gpu());
    const eagerOpt = new kiln.optim.AdamW(eager.parameters(), { lr: 1e-2 });
    const eagerLosses: number[] = [];
    for (const b of batches) {
      eagerOpt.zeroGrad();
      const l = lmLoss(eager.call(await b.x.to(gpu())), await b.y.to(gpu()));
      await l.backward();
      kiln.nn.utils.clipGradNorm_(eager.parameters(), 0.5);
      eagerOpt.step();
      eagerLosses.push((await l.to('cpu')).item() as number);
    }
    kiln.manualSeed(21);
    const model = new CharLm(config);
    const opt = new kiln.optim.AdamW(model.parameters(), { lr: 1e-2 });
    const step = await kiln.compileTrainStep(model, (m, b) => lmLoss(m.call(b.x!), b.y!), opt, batches[0]!, { device: gpu(), maxGradNorm: 0.5 });
    try {
      for (const [i, b] of batches.entries()) expect((await step.run(b)).loss).toBeCloseTo(eagerLosses[i]!, 4);
      await step.syncToModel();
    } finally {
      step.destroy();
    }
    const a = model.namedParameters();
    const e = eager.namedParameters();
    expect(a.map(([n]) => n)).toEqual(e.map(([n]) => n));
    for (let i = 0; i < a.length; i++) {
      const [name, p] = a[i]!;
      const want = (await e[i]![1].to('cpu')).data;
      if (!name.endsWith('qkv.bias')) {
        expectClose(p.data, want, 2e-5, 1e-3);
        continue;
      }
      // The key bias adds q . b to every score of a row, which softmax ignores: its gradient is
      // zero but for rounding, which Adam scales up to steps of about lr. Queries and values only.
      const d = config.dim;
      const qv = (x: kiln.TensorData) => kiln.fromArray([...(x.data as Float32Array).subarray(0, d), ...(x.data as Float32Array).subarray(2 * d)], [2 * d]).data;
      expectClose(qv(p.data), qv(want), 2e-5, 1e-3);
    }
  });
});
