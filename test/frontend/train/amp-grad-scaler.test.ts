import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { useDefaultGpu } from '../default-gpu.js';

const { amp, optim, nn } = kiln;

async function host(t: kiln.Tensor): Promise<number[]> {
  return Array.from((await t.to('cpu')).data.data as Float32Array);
}

/**
 * PyTorch's documented update (torch.amp.GradScaler.update): after an iteration with an inf/NaN
 * gradient the scale is multiplied by backoffFactor and the count of clean iterations restarts;
 * after growthInterval clean iterations in a row it is multiplied by growthFactor.
 */
function documentedScales(init: number, growth: number, backoff: number, interval: number, overflows: readonly boolean[]): number[] {
  const scales: number[] = [];
  let scale = init;
  let clean = 0;
  for (const inf of overflows) {
    if (inf) {
      scale *= backoff;
      clean = 0;
    } else if (++clean === interval) {
      scale *= growth;
      clean = 0;
    }
    scales.push(scale);
  }
  return scales;
}

describe('GradScaler', () => {
  const gpu = useDefaultGpu();

  it('follows the documented scale sequence; steps are skipped exactly on overflow, with unscaled gradients otherwise', async () => {
    const overflows = [false, false, false, true, false, false, false, false, true, true, false, false, false, false];
    const opts = { initScale: 2 ** 10, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3 };
    const want = documentedScales(opts.initScale, opts.growthFactor, opts.backoffFactor, opts.growthInterval, overflows);
    const scaler = new amp.GradScaler(opts);
    expect(scaler.getScale()).toBe(2 ** 10);
    const w = (await kiln.tensor([0.5, -1, 2]).to(gpu())).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.25 });
    // loss = sum(w * c): the gradient is c, exact in float32, so plain SGD gives w in float64.
    let expected = [0.5, -1, 2];
    for (const [i, inf] of overflows.entries()) {
      const c = [1 + i, -0.5, inf ? (i % 2 ? Infinity : NaN) : 0.125];
      opt.zeroGrad();
      const loss = w.mul(await kiln.tensor(c).to(gpu())).sum();
      await scaler.scale(loss).backward();
      const stepped = await scaler.step(opt);
      await scaler.update();
      expect(stepped).toBe(!inf);
      if (!inf) {
        expect(await host(w.grad!)).toEqual(c);
        expected = expected.map((v, k) => v - 0.25 * c[k]!);
      }
      expect(scaler.getScale()).toBe(want[i]);
      expect(await host(w)).toEqual(expected);
    }
    expect(opt.stepCount).toBe(overflows.filter((o) => !o).length);
    // One clean iteration since the growth at the 13th.
    expect(scaler.stateDict()).toEqual({ scale: want.at(-1), growthFactor: 2, backoffFactor: 0.5, growthInterval: 3, growthTracker: 1 });
  });

  it('an inf gradient leaves parameters and Adam state untouched; the next clean step proceeds', async () => {
    kiln.manualSeed(3);
    const model = new nn.Linear(4, 2);
    await model.to(gpu());
    const opt = new optim.Adam(model.parameters(), { lr: 0.1 });
    const scaler = new amp.GradScaler();
    const x = await kiln.randn([3, 4]).to(gpu());
    const iteration = async (input: kiln.Tensor) => {
      opt.zeroGrad();
      // The mean: sum()'s gradient, 1 times the scale 2^16, would overflow float16 at once.
      const loss = amp.autocast('webgpu', () => model.call(input).mean());
      await scaler.scale(loss).backward();
      const stepped = await scaler.step(opt);
      await scaler.update();
      return stepped;
    };
    expect(await iteration(x)).toBe(true);
    const snapshot = async () => ({
      params: await Promise.all(model.parameters().map(host)),
      state: await Promise.all(model.parameters().flatMap((p) => opt.state.get(p)!.map(host))),
      steps: opt.stepCount,
    });
    const before = await snapshot();
    const scale = scaler.getScale();
    // An inf input makes the float16 product and every weight gradient inf or NaN.
    const bad = await kiln.tensor([[Infinity, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]).to(gpu());
    expect(await iteration(bad)).toBe(false);
    expect(await snapshot()).toEqual(before);
    expect(scaler.getScale()).toBe(scale / 2);
    expect(await iteration(x)).toBe(true);
    expect(opt.stepCount).toBe(2);
  });

  it('unscale() before clipGradNorm_ gives the true gradients, and step() does not unscale again', async () => {
    const w = (await kiln.tensor([3, 4]).to(gpu())).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 1 });
    const scaler = new amp.GradScaler({ initScale: 1024 });
    const loss = w.mul(await kiln.tensor([3, 4]).to(gpu())).sum(); // gradient [3, 4], norm 5
    await scaler.scale(loss).backward();
    expect(await host(w.grad!)).toEqual([3 * 1024, 4 * 1024]);
    scaler.unscale_(opt);
    expect(() => scaler.unscale(opt)).toThrow('unscale() has already been called on this optimizer since the last update().');
    const norm = nn.utils.clipGradNorm_([w], 1);
    expect((await norm.to('cpu')).item()).toBeCloseTo(5, 5);
    expect(await scaler.step(opt)).toBe(true);
    // Clipped to norm 1: [0.6, 0.8] (to the 1e-6 of clipGradNorm_'s denominator), stepped once.
    const after = await host(w);
    expect(after[0]).toBeCloseTo(3 - 0.6, 5);
    expect(after[1]).toBeCloseTo(4 - 0.8, 5);
    await expect(scaler.step(opt)).rejects.toThrow('step() has already been called since the last update().');
    expect(() => scaler.unscale(opt)).toThrow('unscale() is being called after step().');
    await scaler.update();
    expect(scaler.getScale()).toBe(1024);
  });

  it("has PyTorch's checks, state dict and disabled pass-through", async () => {
    expect(() => new amp.GradScaler({ growthFactor: 1 })).toThrow('The growth factor must be > 1.0.');
    expect(() => new amp.GradScaler({ backoffFactor: 1 })).toThrow('The backoff factor must be < 1.0.');
    const s = new amp.GradScaler();
    await expect(s.update()).rejects.toThrow(/scale\(loss\)/);
    const t = new amp.GradScaler({ initScale: 8 });
    t.loadStateDict({ scale: 32, growthFactor: 3, backoffFactor: 0.25, growthInterval: 7, growthTracker: 5 });
    expect(t.getScale()).toBe(32);
    expect(t.stateDict()).toEqual({ scale: 32, growthFactor: 3, backoffFactor: 0.25, growthInterval: 7, growthTracker: 5 });
    await t.update(16);
    expect(t.getScale()).toBe(16);
    const off = new amp.GradScaler({ enabled: false });
    expect(off.stateDict()).toEqual({});
    expect(() => t.loadStateDict({})).toThrow(/empty/);
    const w = (await kiln.tensor([1]).to(gpu())).requiresGrad_();
    const loss = w.mul(2).sum();
    expect(off.scale(loss)).toBe(loss);
    expect(off.getScale()).toBe(1);
    const opt = new optim.SGD([w], { lr: 1 });
    await loss.backward();
    expect(await off.step(opt)).toBe(true);
    expect(await host(w)).toEqual([-1]);
  });
});
