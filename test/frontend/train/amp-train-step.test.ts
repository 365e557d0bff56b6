import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { useDefaultGpu } from '../default-gpu.js';

const { amp, optim, nn } = kiln;

/** PyTorch's documented GradScaler.update rule (see amp-grad-scaler.test.ts), in float64. */
function documentedScales(init: number, growth: number, backoff: number, interval: number, overflows: readonly boolean[]): number[] {
  let scale = init;
  let clean = 0;
  return overflows.map((inf) => {
    if (inf) [scale, clean] = [scale * backoff, 0];
    else if (++clean === interval) [scale, clean] = [scale * growth, 0];
    return scale;
  });
}

class Scaled extends nn.Module {
  w = nn.Parameter(kiln.tensor([0.5, -1, 2]));
  forward(c: kiln.Tensor): kiln.Tensor {
    return this.w.mul(c).sum();
  }
}

describe('compiled training step with a GradScaler and autocast', () => {
  const gpu = useDefaultGpu();

  it('skips exactly the steps with an inf/NaN gradient on the device and follows the documented scale sequence', async () => {
    const overflows = [false, false, true, false, false, false, true, true, false, false];
    const opts = { initScale: 2 ** 8, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2 };
    const want = documentedScales(opts.initScale, opts.growthFactor, opts.backoffFactor, opts.growthInterval, overflows);
    const model = new Scaled();
    const opt = new optim.SGD(model.parameters(), { lr: 0.25 });
    const scaler = new amp.GradScaler(opts);
    const batchOf = (i: number) => ({ c: kiln.tensor([1 + i, -0.5, overflows[i] ? (i % 2 ? Infinity : NaN) : 0.125]) });
    const step = await kiln.compileTrainStep(model, (m, b) => m.call(b.c!), opt, batchOf(0), { device: gpu(), gradScaler: scaler });
    try {
      // loss = sum(w * c): the gradient is c, so SGD's result is known in float64.
      let expected = [0.5, -1, 2];
      for (let i = 0; i < overflows.length; i++) {
        const c = batchOf(i).c;
        const r = await step.run({ c });
        expect(r.skipped).toBe(overflows[i]);
        if (!overflows[i]) expected = expected.map((v, k) => v - 0.25 * (c.data.data as Float32Array)[k]!);
        await step.syncToModel();
        expect(Array.from(model.w.data.data as Float32Array)).toEqual(expected);
        expect(scaler.getScale()).toBe(want[i]);
      }
      expect(opt.stepCount).toBe(overflows.filter((o) => !o).length);
      expect(scaler.stateDict()).toMatchObject({ growthTracker: 0 });
    } finally {
      step.destroy();
    }
  });

  it('an inf batch leaves the parameters and the Adam state untouched under autocast', async () => {
    kiln.manualSeed(5);
    const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    const scaler = new amp.GradScaler();
    const x = kiln.randn([6, 4]);
    const y = kiln.tensor([0, 1, 2, 0, 1, 2], { dtype: 'int32' });
    const step = await kiln.compileTrainStep(model, (m, b) => kiln.crossEntropy(m.call(b.x!), b.y!), opt, { x, y },
      { device: gpu(), autocast: 'float16', gradScaler: scaler });
    try {
      expect((await step.run({ x, y })).skipped).toBe(false);
      await step.syncToModel();
      const snapshot = () => ({
        params: model.parameters().map((p) => Array.from(p.data.data as Float32Array)),
        state: model.parameters().flatMap((p) => opt.state.get(p)!.map((s) => Array.from(s.data.data as Float32Array))),
        steps: opt.stepCount,
      });
      const before = snapshot();
      const bad = kiln.tensor(Array.from({ length: 24 }, (_, i) => (i === 5 ? Infinity : 1))).reshape([6, 4]);
      expect((await step.run({ x: bad, y })).skipped).toBe(true);
      await step.syncToModel();
      expect(snapshot()).toEqual(before);
      expect(scaler.getScale()).toBe(2 ** 15);
      expect(model.parameters().every((p) => p.dtype === 'f32')).toBe(true);
    } finally {
      step.destroy();
    }
  });
});
