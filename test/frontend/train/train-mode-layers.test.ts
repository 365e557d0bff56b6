import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';

const { nn, functional: F } = kiln;

// BatchNorm and Dropout in training mode, eagerly on the CPU, against PyTorch's documented
// formulas computed here in float64.

/** Per-channel statistics of [N, C, ...] values in float64: mean, biased and unbiased variance. */
function channelStats(x: kiln.Tensor): { mean: number[]; biased: number[]; unbiased: number[]; n: number } {
  const [N, C] = x.shape as [number, number];
  const inner = x.numel() / (N * C);
  const v = Array.from(x.data.data as Float32Array);
  const n = N * inner;
  const mean: number[] = [];
  const biased: number[] = [];
  const unbiased: number[] = [];
  for (let c = 0; c < C; c++) {
    const xs: number[] = [];
    for (let b = 0; b < N; b++) for (let i = 0; i < inner; i++) xs.push(v[(b * C + c) * inner + i]!);
    const m = xs.reduce((a, y) => a + y, 0) / n;
    const ss = xs.reduce((a, y) => a + (y - m) ** 2, 0);
    mean.push(m);
    biased.push(ss / n);
    unbiased.push(ss / (n - 1));
  }
  return { mean, biased, unbiased, n };
}

/** (x - mean) / sqrt(var + eps) * w + b per channel, in float64. */
function normalise(x: kiln.Tensor, eps: number, w: number[], b: number[]): number[] {
  const [N, C] = x.shape as [number, number];
  const inner = x.numel() / (N * C);
  const { mean, biased } = channelStats(x);
  return Array.from(x.data.data as Float32Array, (y, i) => {
    const c = Math.floor(i / inner) % C;
    return ((y - mean[c]!) / Math.sqrt(biased[c]! + eps)) * w[c]! + b[c]!;
  });
}

/** |got - want| <= atol + rtol * |want| elementwise. */
function expectNear(got: kiln.Tensor | number[], want: number[], atol: number, rtol: number): void {
  const g = Array.isArray(got) ? got : Array.from(got.data.data as ArrayLike<number>);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => {
    if (!(Math.abs(v - want[i]!) <= atol + rtol * Math.abs(want[i]!))) expect.fail(`element ${i}: got ${v}, want ${want[i]}`);
  });
}

const values = async (t: kiln.Tensor): Promise<number[]> => Array.from((await t.to('cpu')).data.data as ArrayLike<number>);

describe('BatchNorm in training mode', () => {
  it('BatchNorm2d normalises with the batch statistics and moves the running ones by momentum 0.1', async () => {
    kiln.manualSeed(3);
    const bn = new nn.BatchNorm2d(3);
    await bn.loadStateDict({ weight: kiln.tensor([1.5, -0.5, 2]), bias: kiln.tensor([0.1, 0.2, -0.3]) }, { strict: false });
    const running = { mean: [0, 0, 0], var: [1, 1, 1] };
    for (let step = 0; step < 3; step++) {
      const x = kiln.randn([4, 3, 5, 2]).mul(step + 1).add(step - 1);
      const y = bn.call(x);
      expectNear(y, normalise(x, 1e-5, [1.5, -0.5, 2], [0.1, 0.2, -0.3]), 1e-5, 1e-5);
      const s = channelStats(x);
      running.mean = running.mean.map((r, c) => 0.9 * r + 0.1 * s.mean[c]!);
      running.var = running.var.map((r, c) => 0.9 * r + 0.1 * s.unbiased[c]!);
      expectNear(bn.runningMean!, running.mean, 1e-6, 1e-5);
      expectNear(bn.runningVar!, running.var, 1e-6, 1e-5);
      expect(bn.numBatchesTracked!.item()).toBe(step + 1);
    }
    // Eval mode uses the running statistics and leaves them alone.
    bn.eval();
    const x = kiln.randn([2, 3, 1, 1]);
    const got = await values(bn.call(x));
    const xs = Array.from(x.data.data as Float32Array);
    const want = xs.map((v, i) => { const c = i % 3; return ((v - running.mean[c]!) / Math.sqrt(running.var[c]! + 1e-5)) * [1.5, -0.5, 2][c]! + [0.1, 0.2, -0.3][c]!; });
    expectNear(got, want, 1e-5, 1e-5);
    expect(bn.numBatchesTracked!.item()).toBe(3);
  });

  it('BatchNorm1d on [N, C] and [N, C, L]; momentum null keeps the cumulative average', async () => {
    kiln.manualSeed(4);
    const bn = new nn.BatchNorm1d(2, { momentum: null, affine: false, eps: 1e-3 });
    const batches = [kiln.randn([6, 2]), kiln.randn([3, 2, 4]).add(2), kiln.randn([5, 2]).mul(3)];
    batches.forEach((x, k) => {
      expectNear(bn.call(x), normalise(x, 1e-3, [1, 1], [0, 0]), 1e-5, 1e-5);
      const seen = batches.slice(0, k + 1).map(channelStats);
      expectNear(bn.runningMean!, [0, 1].map((c) => seen.reduce((a, s) => a + s.mean[c]!, 0) / (k + 1)), 1e-6, 1e-5);
      expectNear(bn.runningVar!, [0, 1].map((c) => seen.reduce((a, s) => a + s.unbiased[c]!, 0) / (k + 1)), 1e-6, 1e-5);
    });
  });

  it('trackRunningStats: false keeps no buffers and uses the batch statistics in eval mode too', () => {
    const bn = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false }).eval();
    expect(bn.namedBuffers()).toEqual([]);
    const x = kiln.tensor([[1, 10], [3, 30]]);
    expectNear(bn.call(x), normalise(x, 1e-5, [1, 1], [0, 0]), 1e-6, 1e-5);
  });

  it('refuses one value per channel in training, as PyTorch', () => {
    expect(() => new nn.BatchNorm1d(2).call(kiln.ones([1, 2]))).toThrow(/Expected more than 1 value per channel when training/);
  });

  it('backpropagates through the batch statistics (gradients of weight, bias and input)', async () => {
    // loss = sum(y * r): dL/dw = sum(xhat * r), dL/db = sum(r), and dL/dx sums to 0 per channel.
    kiln.manualSeed(5);
    const bn = new nn.BatchNorm1d(2);
    const x = kiln.randn([5, 2]);
    x.requiresGrad = true;
    const r = kiln.randn([5, 2]);
    await bn.call(x).mul(r).sum().backward();
    const xhat = normalise(x, 1e-5, [1, 1], [0, 0]);
    const rv = Array.from(r.data.data as Float32Array);
    expectNear(bn.weight!.grad!, [0, 1].map((c) => xhat.reduce((a, v, i) => a + (i % 2 === c ? v * rv[i]! : 0), 0)), 1e-5, 1e-4);
    expectNear(bn.bias!.grad!, [0, 1].map((c) => rv.reduce((a, v, i) => a + (i % 2 === c ? v : 0), 0)), 1e-5, 1e-5);
    const gx = Array.from(x.grad!.data.data as Float32Array);
    for (const c of [0, 1]) expect(Math.abs(gx.filter((_, i) => i % 2 === c).reduce((a, v) => a + v, 0))).toBeLessThan(1e-5);
  });
});

describe('Dropout in training mode', () => {
  it('zeroes a fraction p and scales the survivors by exactly 1 / (1 - p), seeded', () => {
    for (const p of [0.5, 0.75]) {
      kiln.manualSeed(11);
      const x = kiln.randn([200, 500]);
      const y = new nn.Dropout(p).call(x);
      const xs = x.data.data as Float32Array;
      const ys = y.data.data as Float32Array;
      let zeros = 0;
      for (let i = 0; i < xs.length; i++) {
        if (ys[i] === 0) zeros++;
        else expect(ys[i]).toBe(xs[i]! / (1 - p));
      }
      // 100000 Bernoulli(p) draws: the standard deviation of the fraction is under 0.0016.
      expect(Math.abs(zeros / xs.length - p)).toBeLessThan(0.01);
      kiln.manualSeed(11);
      kiln.randn([200, 500]);
      expect(new nn.Dropout(p).call(x).data.data).toEqual(ys);
    }
  });

  it('backward passes the gradient through the same mask', async () => {
    kiln.manualSeed(12);
    const x = kiln.randn([64, 32]);
    x.requiresGrad = true;
    const y = F.dropout(x, { p: 0.3, generator: new kiln.Random(9) });
    await y.sum().backward();
    const ys = y.data.data as Float32Array;
    const g = x.grad!.data.data as Float32Array;
    for (let i = 0; i < ys.length; i++) expect(g[i]).toBe(ys[i] === 0 ? 0 : Math.fround(1 / 0.7));
  });

  it('is the identity in eval mode and for p = 0; p = 1 zeroes everything', () => {
    const x = kiln.tensor([1, 2]);
    const d = new nn.Dropout(0.5);
    expect(d.training).toBe(true);
    expect(d.eval().call(x)).toBe(x);
    expect(F.dropout(x, { p: 0 })).toBe(x);
    expect(F.dropout(x, { p: 1 }).tolist()).toEqual([0, 0]);
    expect(() => new nn.Dropout(1.5)).toThrow(/dropout probability has to be between 0 and 1, but got 1.5/);
  });
});
