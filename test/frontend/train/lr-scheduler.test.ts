import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';

const { optim } = kiln;
const { StepLR, CosineAnnealingLR, LinearLR, LambdaLR, OneCycleLR, ExponentialLR, MultiStepLR, ConstantLR, CosineAnnealingWarmRestarts, ReduceLROnPlateau } = optim.lrScheduler;

/** An SGD over one group per learning rate (schedulers only read and write `lr`). */
function sgd(...lrs: number[]) {
  return new optim.SGD(lrs.map((lr) => ({ params: [kiln.zeros([1])], lr })), { lr: lrs[0]! });
}

/** The learning rates of `epochs` epochs: the one after construction, then after each step(). */
function schedule(sched: { step(): void; getLastLr(): number[] }, epochs: number): number[][] {
  const out = [sched.getLastLr()];
  for (let e = 1; e < epochs; e++) { sched.step(); out.push(sched.getLastLr()); }
  return out;
}

function expectRates(got: number[][], want: number[][]): void {
  expect(got.length).toBe(want.length);
  got.forEach((row, e) => row.forEach((v, g) => expect(v, `epoch ${e} group ${g}`).toBeCloseTo(want[e]![g]!, 12)));
}

describe('learning-rate schedulers follow PyTorch\'s documented formulas (float64 references)', () => {
  it('StepLR: the example of its docs (0.05, stepSize 30, gamma 0.1), per group', () => {
    const opt = sgd(0.05, 1);
    const got = schedule(new StepLR(opt, { stepSize: 30, gamma: 0.1 }), 95);
    // Docs: lr = 0.05 if epoch < 30, 0.005 if 30 <= epoch < 60, 0.0005 if 60 <= epoch < 90, ...
    expectRates(got, got.map((_, e) => [0.05, 1].map((base) => base * (e < 30 ? 1 : e < 60 ? 0.1 : e < 90 ? 0.01 : 0.001))));
    expect(opt.paramGroups.map((g) => g.lr)).toEqual(got.at(-1));
  });

  it('LinearLR: the example of its docs (0.05, startFactor 0.5, totalIters 4)', () => {
    const got = schedule(new LinearLR(sgd(0.05), { startFactor: 0.5, totalIters: 4 }), 7);
    // Docs: 0.025 at epoch 0, 0.03125, 0.0375, 0.04375, then 0.05 from epoch 4 on.
    expectRates(got, [0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05, 0.05].map((v) => [v]));
  });

  it('CosineAnnealingLR: the recursive form of its docs up to tMax, and the closed form past it', () => {
    const [base, etaMin, tMax] = [0.1, 0.001, 10];
    const got = schedule(new CosineAnnealingLR(sgd(base), { tMax, etaMin }), 2 * tMax + 1);
    // eta_{t+1} = eta_min + (eta_t - eta_min) (1 + cos(pi (t + 1) / T_max)) / (1 + cos(pi t / T_max)), eta_0 = base.
    const want = [base];
    for (let t = 0; t < tMax; t++) want.push(etaMin + ((want[t]! - etaMin) * (1 + Math.cos((Math.PI * (t + 1)) / tMax))) / (1 + Math.cos((Math.PI * t) / tMax)));
    for (let t = tMax + 1; t <= 2 * tMax; t++) want.push(etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2);
    expectRates(got, want.map((v) => [v]));
  });

  it('LambdaLR: a linear warm-up then cosine decay, one function per group', () => {
    const warm = 3;
    const f = (e: number) => (e < warm ? (e + 1) / warm : 0.5 * (1 + Math.cos((Math.PI * (e - warm)) / 10)));
    const got = schedule(new LambdaLR(sgd(0.2, 0.4), [f, () => 1]), 14);
    expectRates(got, got.map((_, e) => [0.2 * f(e), 0.4]));
  });

  for (const [what, opts] of [
    ['cosine, two phases', { pctStart: 0.3, annealStrategy: 'cos' }],
    ['linear, three phases', { pctStart: 0.25, annealStrategy: 'linear', threePhase: true }],
  ] as const) {
    it(`OneCycleLR (${what}): PyTorch's phases from maxLr/divFactor to maxLr to initial/finalDivFactor`, () => {
      const [maxLr, total, div, finalDiv] = [0.5, 40, 25, 1e4];
      const got = schedule(new OneCycleLR(sgd(1), { maxLr, totalSteps: total, cycleMomentum: false, ...opts }), total);
      const initial = maxLr / div;
      const min = initial / finalDiv;
      const anneal = opts.annealStrategy === 'cos'
        ? (a: number, b: number, p: number) => b + ((a - b) * (1 + Math.cos(Math.PI * p))) / 2
        : (a: number, b: number, p: number) => a + (b - a) * p;
      const p = opts.pctStart;
      // Phase ends (inclusive step numbers) and rates, as PyTorch's OneCycleLR defines them.
      const phases: [number, number, number][] = 'threePhase' in opts
        ? [[p * total - 1, initial, maxLr], [2 * p * total - 2, maxLr, initial], [total - 1, initial, min]]
        : [[p * total - 1, initial, maxLr], [total - 1, maxLr, min]];
      const want = got.map((_, s) => {
        let start = 0;
        for (const [i, [end, a, b]] of phases.entries()) {
          if (s <= end || i === phases.length - 1) return [anneal(a, b, (s - start) / (end - start))];
          start = end;
        }
        throw new Error('unreachable');
      });
      expectRates(got, want);
      expect(got[0]![0]).toBeCloseTo(initial, 15);
      expect(got.at(-1)![0]).toBeCloseTo(min, 15);
    });
  }

  it('OneCycleLR refuses momentum cycling and stepping past totalSteps', () => {
    expect(() => new OneCycleLR(sgd(1), { maxLr: 1, totalSteps: 5 } as never)).not.toThrow();
    expect(() => new OneCycleLR(sgd(1), { maxLr: 1, totalSteps: 5, cycleMomentum: true } as never)).toThrow(/cycleMomentum is not supported/);
    const s = new OneCycleLR(sgd(1), { maxLr: 1, epochs: 2, stepsPerEpoch: 2 });
    for (let k = 0; k < 4; k++) s.step();
    expect(() => s.step()).toThrow(/tried to step 5 times; the specified number of total steps is 4/);
  });

  it('stateDict/loadStateDict resume a schedule', () => {
    const a = new CosineAnnealingLR(sgd(0.1), { tMax: 8 });
    for (let k = 0; k < 3; k++) a.step();
    const opt = sgd(0.1);
    const b = new CosineAnnealingLR(opt, { tMax: 8 });
    b.loadStateDict(a.stateDict());
    a.step();
    b.step();
    expect(b.getLastLr()).toEqual(a.getLastLr());
    expect(opt.lr).toBe(a.getLastLr()[0]);
  });

  it('MultiStepLR, ExponentialLR and ConstantLR: the examples of their docs', () => {
    // Docs: 0.05 if epoch < 30, 0.005 if 30 <= epoch < 80, 0.0005 from 80 (milestones [30, 80], gamma 0.1).
    const multi = schedule(new MultiStepLR(sgd(0.05), { milestones: [80, 30] }), 100);
    expectRates(multi, multi.map((_, e) => [0.05 * (e < 30 ? 1 : e < 80 ? 0.1 : 0.01)]));
    expectRates(schedule(new ExponentialLR(sgd(0.5, 2), 0.9), 4), [0, 1, 2, 3].map((e) => [0.5 * 0.9 ** e, 2 * 0.9 ** e]));
    // Docs: 0.025 for epochs 0..3 (factor 0.5, totalIters 4), then 0.05.
    expectRates(schedule(new ConstantLR(sgd(0.05), { factor: 0.5, totalIters: 4 }), 6), [0.025, 0.025, 0.025, 0.025, 0.05, 0.05].map((v) => [v]));
  });

  it('CosineAnnealingWarmRestarts: periods of t0, t0 tMult, ..., each a cosine from the base to etaMin', () => {
    const [base, etaMin] = [0.1, 0.01];
    const got = schedule(new CosineAnnealingWarmRestarts(sgd(base), { t0: 2, tMult: 2, etaMin }), 15);
    // Periods [0, 2), [2, 6), [6, 14), [14, 30): tCur counts from each start, tI is the period's length.
    const want = got.map((_, e) => {
      const [start, len] = e < 2 ? [0, 2] : e < 6 ? [2, 4] : e < 14 ? [6, 8] : [14, 16];
      return [etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * (e - start)) / len))) / 2];
    });
    expectRates(got, want);
    expect(() => new CosineAnnealingWarmRestarts(sgd(base), { t0: 0 })).toThrow('t0 must be a positive integer');
  });

  it('ReduceLROnPlateau: reduces after patience epochs without a relative improvement, then waits out its cooldown, down to minLr', () => {
    const opt = sgd(1, 0.5);
    const plateau = new ReduceLROnPlateau(opt, { patience: 2, factor: 0.5, cooldown: 1, minLr: [0.3, 0.2], threshold: 0.1 });
    // 10 improves; 9.5 is not 10% better; 9.2 neither; 9.3: third bad epoch > patience -> halve.
    // Cooldown 1 swallows the next bad epoch; then three more bad epochs halve again; 4 improves.
    const metrics = [10, 9.5, 9.2, 9.3, 9.4, 9.4, 9.4, 9.4, 4];
    const rates = metrics.map((m) => {
      plateau.step(m);
      return plateau.getLastLr();
    });
    expectRates(rates, [[1, 0.5], [1, 0.5], [1, 0.5], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.5, 0.25], [0.3, 0.2], [0.3, 0.2]]);
    expect(plateau.best).toBe(4);
    // 'max' mode follows an accuracy.
    const acc = new ReduceLROnPlateau(sgd(1), { mode: 'max', patience: 0, thresholdMode: 'abs', threshold: 0.01 });
    [0.5, 0.505, 0.6].forEach((m) => acc.step(m));
    expect(acc.getLastLr()).toEqual([0.1]);
  });
});
