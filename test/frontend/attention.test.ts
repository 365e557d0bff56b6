import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

const F = kiln.functional;

/** Values of a tensor on either device, as numbers. */
async function values(t: kiln.Tensor): Promise<number[]> {
  return Array.from((await t.to('cpu')).data.data as ArrayLike<number>, Number);
}

/**
 * softmax(q k^T * scale + mask) v in float64 for one head: q [L, E], k [S, E], v [S, Ev] as flat
 * row-major arrays; `allowed(i, j)` says whether query i sees key j (a masked score is -inf).
 */
function attention64(q: number[], k: number[], v: number[], l: number, s: number, e: number, ev: number, allowed: (i: number, j: number) => boolean, bias?: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < l; i++) {
    const scores = Array.from({ length: s }, (_, j) => {
      if (!allowed(i, j)) return -Infinity;
      let dot = 0;
      for (let c = 0; c < e; c++) dot += q[i * e + c]! * k[j * e + c]!;
      return dot / Math.sqrt(e) + (bias ? bias[i * s + j]! : 0);
    });
    const max = Math.max(...scores);
    const w = scores.map((z) => Math.exp(z - max));
    const sum = w.reduce((a, b) => a + b, 0);
    for (let c = 0; c < ev; c++) out.push(w.reduce((acc, wj, j) => acc + (wj / sum) * v[j * ev + c]!, 0));
  }
  return out;
}

function expectAllClose(actual: number[], expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (Math.abs(a - expected[i]!) > tol) expect.fail(`element ${i}: ${a} vs ${expected[i]} (tolerance ${tol})`);
  });
}

describe('tril, triu, maskedFill and scaledDotProductAttention', () => {
  const gpu = useDefaultGpu();

  for (const device of ['cpu', 'webgpu'] as const) {
    it(`tril and triu keep the triangles of the last two dimensions, with diagonal offsets, on ${device}`, async () => {
      const data = Array.from({ length: 2 * 3 * 4 }, (_, i) => i + 1);
      const x = await kiln.fromArray(data, [2, 3, 4]).to(device === 'cpu' ? 'cpu' : gpu());
      for (const d of [-1, 0, 2]) {
        const at = (k: number) => [Math.floor(k / 4) % 3, k % 4] as const;
        expect(await values(x.tril(d))).toEqual(data.map((v, k) => (at(k)[1] - at(k)[0] <= d ? v : 0)));
        expect(await values(x.triu(d))).toEqual(data.map((v, k) => (at(k)[1] - at(k)[0] >= d ? v : 0)));
      }
    });

    it(`maskedFill puts the value where a broadcast bool mask is true on ${device}`, async () => {
      const on = device === 'cpu' ? 'cpu' : gpu();
      const x = await kiln.tensor([[1, 2, 3], [4, 5, 6]]).to(on);
      const mask = await kiln.tensor([true, false, true], { dtype: 'bool' }).to(on);
      expect(await values(x.maskedFill(mask, -7))).toEqual([-7, 2, -7, -7, 5, -7]);
      expect(await values(x.maskedFill(mask, -Infinity))).toEqual([-Infinity, 2, -Infinity, -Infinity, 5, -Infinity]);
    });

    it(`causal, bool-masked and float-biased attention match a float64 reference on ${device}`, async () => {
      const on = device === 'cpu' ? 'cpu' : gpu();
      kiln.manualSeed(3);
      const [l, s, e, ev] = [5, 5, 4, 3];
      const q = kiln.randn([1, 2, l, e]);
      const k = kiln.randn([1, 2, s, e]);
      const v = kiln.randn([1, 2, s, ev]);
      const keep = Array.from({ length: l * s }, (_, i) => (i % s === 0 || (i * 7) % 3 !== 0 ? 1 : 0));
      const bias = Array.from({ length: l * s }, (_, i) => Math.sin(i));
      const [qd, kd, vd] = await Promise.all([q, k, v].map(values));
      const head = (a: number[], h: number, n: number) => a.slice(h * n, (h + 1) * n);
      const expected = (allowed: (i: number, j: number) => boolean, b?: number[]) => [0, 1].flatMap((h) =>
        attention64(head(qd, h, l * e), head(kd, h, s * e), head(vd, h, s * ev), l, s, e, ev, allowed, b));
      const [qo, ko, vo] = await Promise.all([q, k, v].map((t) => t.to(on)));
      const causal = F.scaledDotProductAttention(qo, ko, vo, { isCausal: true });
      expect(causal.shape).toEqual([1, 2, l, ev]);
      expectAllClose(await values(causal), expected((i, j) => j <= i), 1e-5);
      const boolMask = await kiln.fromArray(keep, [l, s], { dtype: 'bool' }).to(on);
      expectAllClose(await values(F.scaledDotProductAttention(qo, ko, vo, { attnMask: boolMask })), expected((i, j) => keep[i * s + j] === 1), 1e-5);
      const floatMask = await kiln.fromArray(bias, [l, s]).to(on);
      expectAllClose(await values(F.scaledDotProductAttention(qo, ko, vo, { attnMask: floatMask })), expected(() => true, bias), 1e-5);
    });
  }

  it('causal attention traces and compiles to WebGPU with the CPU reference result', async () => {
    kiln.manualSeed(4);
    class Attend extends kiln.Module {
      forward(x: kiln.Tensor): kiln.Tensor { return F.scaledDotProductAttention(x, x.mul(0.5), x, { isCausal: true }); }
    }
    const x = kiln.randn([2, 6, 8]);
    const graph = kiln.trace(new Attend(), [x]);
    const expected = kiln.runOnCpu(graph, { x: x.data }).y!;
    const session = await kiln.Session.create(gpu(), kiln.compile(graph));
    try {
      const got = (await session.run({ x: x.data })).y!;
      expectAllClose(Array.from(got.data as Float32Array), Array.from(expected.data as Float32Array), 1e-5);
    } finally {
      session.destroy();
    }
  });

  it('the gradients of causal attention match float64 finite differences', async () => {
    kiln.manualSeed(5);
    const [l, e] = [4, 3];
    const init = [kiln.randn([l, e]), kiln.randn([l, e]), kiln.randn([l, e])];
    const weights = Array.from({ length: l * e }, (_, i) => Math.cos(i + 1));
    const [q, k, v] = init.map((t) => kiln.fromArray(t.data.data as Float32Array, [l, e], { requiresGrad: true })) as [kiln.Tensor, kiln.Tensor, kiln.Tensor];
    const loss = F.scaledDotProductAttention(q, k, v, { isCausal: true }).mul(kiln.fromArray(weights, [l, e])).sum();
    await loss.backward();
    // The same loss in float64, differentiated by central differences.
    const base = await Promise.all(init.map(values));
    const loss64 = (xs: number[][]) => attention64(xs[0]!, xs[1]!, xs[2]!, l, l, e, e, (i, j) => j <= i).reduce((a, y, i) => a + y * weights[i]!, 0);
    const h = 1e-6;
    for (const [which, t] of [q, k, v].entries()) {
      const fd = base[which]!.map((_, i) => {
        const shifted = (d: number) => base.map((xs, w) => (w === which ? xs.map((x, j) => (j === i ? x + d : x)) : xs));
        return (loss64(shifted(h)) - loss64(shifted(-h))) / (2 * h);
      });
      expectAllClose(await values(t.grad!), fd, 2e-4);
    }
  });

  it('refuses what it cannot do, with PyTorch-like messages', () => {
    const x = kiln.randn([2, 3]);
    expect(() => kiln.randn([3]).tril()).toThrow(/at least 2 dimensions/);
    expect(() => x.maskedFill(kiln.tensor([1, 0, 1]), 0)).toThrow(/must be bool/);
    expect(() => x.maskedFill(kiln.fromArray([1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1], [2, 2, 3], { dtype: 'bool' }), 0)).toThrow(/does not broadcast/);
    expect(() => F.scaledDotProductAttention(x, x, x, { isCausal: true, attnMask: kiln.ones([2, 2]) })).toThrow(/not both/);
  });
});
