import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

// torch.nn layers PyTorch code reaches for beyond the basics: ConvTranspose2d, Upsample
// (interpolate), GroupNorm, PixelShuffle, Unflatten and the loss modules, on the CPU and on
// WebGPU, each against its definition in PyTorch's documentation computed here in float64.

const { nn } = kiln;

/** Values 0..n-1 scrambled into [-1, 1), deterministic. */
const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 2003) / 1001.5) - 1);

/** A flat [N, C, H, W] array's element. */
const at = (a: number[], shape: number[], n: number, c: number, h: number, w: number) => a[((n * shape[1]! + c) * shape[2]! + h) * shape[3]! + w]!;

function expectClose(got: unknown, want: number[], tol = 1e-4) {
  const g = (got as number[]).flat(4) as number[];
  expect(g).toHaveLength(want.length);
  const worst = Math.max(0, ...g.map((v, i) => Math.abs(v - want[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('more torch.nn layers', () => {
  const gpu = useDefaultGpu();

  /** `m` on `x` on the CPU, then on WebGPU (module and input moved there), both as flat arrays. */
  const both = async (m: kiln.nn.Module, x: kiln.Tensor) => {
    const cpu = m.call(x).tolist();
    await m.to(gpu());
    const webgpu = (await m.call(await x.to(gpu())).to('cpu')).tolist();
    return [cpu, webgpu];
  };

  it('ConvTranspose2d (stride 2, padding 1, output padding 1, 2 groups) is the scatter of each input pixel through the weight', async () => {
    const [N, C, H, W, O, K, S, P, OP, G] = [2, 4, 3, 4, 6, 3, 2, 1, 1, 2];
    const m = new nn.ConvTranspose2d(C, O, K, { stride: S, padding: P, outputPadding: OP, groups: G });
    expect(m.weight.shape).toEqual([C, O / G, K, K]);
    const xs = values(N * C * H * W, 1);
    const x = kiln.tensor(xs).reshape(N, C, H, W);
    const w = (m.weight.tolist() as number[][][][]).flat(3);
    const b = m.bias!.tolist() as number[];
    const [OH, OW] = [(H - 1) * S - 2 * P + K + OP, (W - 1) * S - 2 * P + K + OP];
    const want = Array.from({ length: N * O * OH * OW }, (_, i) => b[Math.floor(i / (OH * OW)) % O]!);
    const [cin, cout] = [C / G, O / G];
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let v = 0; v < W; v++) {
      const g = Math.floor(c / cin);
      for (let j = 0; j < cout; j++) for (let kh = 0; kh < K; kh++) for (let kw = 0; kw < K; kw++) {
        const [oh, ow] = [h * S - P + kh, v * S - P + kw];
        if (oh < 0 || ow < 0 || oh >= OH || ow >= OW) continue;
        want[((n * O + g * cout + j) * OH + oh) * OW + ow]! += at(xs, [N, C, H, W], n, c, h, v) * w[((c * cout + j) * K + kh) * K + kw]!;
      }
    }
    const [cpu, webgpu] = await both(m, x);
    expectClose(cpu, want);
    expectClose(webgpu, want);
    expect(() => new nn.ConvTranspose2d(3, 4, 3, { groups: 2 })).toThrow('must be divisible by groups');
  });

  it("Upsample: nearest by a scale and to a size, bilinear with and without aligned corners, as PyTorch's index maps", async () => {
    const [N, C, H, W] = [1, 2, 3, 4];
    const xs = values(N * C * H * W, 2);
    const x = kiln.tensor(xs).reshape(N, C, H, W);
    const pixel = (c: number, h: number, w: number) => at(xs, [N, C, H, W], 0, c, h, w);
    const grid = (OH: number, OW: number, f: (c: number, oh: number, ow: number) => number) =>
      Array.from({ length: C * OH * OW }, (_, i) => f(Math.floor(i / (OH * OW)), Math.floor(i / OW) % OH, i % OW));
    // Nearest: src = floor(dst * in / out) (dst / scale when a scale is given).
    const nearest = (OH: number, OW: number, sh: number, sw: number) => grid(OH, OW, (c, oh, ow) => pixel(c, Math.min(H - 1, Math.floor(oh / sh)), Math.min(W - 1, Math.floor(ow / sw))));
    // Bilinear: src = (dst + 0.5) * in / out - 0.5 clamped at 0 (half pixels), or dst * (in - 1) / (out - 1) (aligned corners).
    const bilinear = (OH: number, OW: number, align: boolean) => grid(OH, OW, (c, oh, ow) => {
      const src = (d: number, inn: number, out: number) => (align ? (out > 1 ? (d * (inn - 1)) / (out - 1) : 0) : Math.max(0, ((d + 0.5) * inn) / out - 0.5));
      const [y, xx] = [src(oh, H, OH), src(ow, W, OW)];
      const [y0, x0] = [Math.floor(y), Math.floor(xx)];
      const [y1, x1] = [Math.min(y0 + 1, H - 1), Math.min(x0 + 1, W - 1)];
      const [ly, lx] = [y - y0, xx - x0];
      return (1 - ly) * ((1 - lx) * pixel(c, y0, x0) + lx * pixel(c, y0, x1)) + ly * ((1 - lx) * pixel(c, y1, x0) + lx * pixel(c, y1, x1));
    });
    const cases: [kiln.nn.Module, number[]][] = [
      [new nn.Upsample({ scaleFactor: 2 }), nearest(6, 8, 2, 2)],
      [new nn.Upsample({ size: [5, 7] }), nearest(5, 7, 5 / 3, 7 / 4)],
      [new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }), bilinear(6, 8, false)],
      [new nn.Upsample({ size: [5, 7], mode: 'bilinear', alignCorners: true }), bilinear(5, 7, true)],
    ];
    for (const [m, want] of cases) {
      const [cpu, webgpu] = await both(m, x);
      expectClose(cpu, want);
      expectClose(webgpu, want);
    }
    expect(() => kiln.functional.interpolate(x, { size: 2, scaleFactor: 2 })).toThrow('give either size or scaleFactor, not both or neither');
    expect(() => kiln.functional.interpolate(x, { scaleFactor: 2, alignCorners: true })).toThrow("alignCorners applies to 'bilinear' only");
  });

  it('GroupNorm normalises each group of channels by its mean and biased variance; PixelShuffle and Unflatten move elements as PyTorch does', async () => {
    const [N, C, H, W, G] = [2, 6, 2, 3, 3];
    const xs = values(N * C * H * W, 3);
    const x = kiln.tensor(xs).reshape(N, C, H, W);
    const m = new nn.GroupNorm(G, C);
    const per = (C / G) * H * W;
    const want = xs.map((_, i) => {
      const start = Math.floor(i / per) * per;
      const group = xs.slice(start, start + per);
      const mean = group.reduce((a, v) => a + v, 0) / per;
      const variance = group.reduce((a, v) => a + (v - mean) ** 2, 0) / per;
      return (xs[i]! - mean) / Math.sqrt(variance + 1e-5);
    });
    const [cpu, webgpu] = await both(m, x);
    expectClose(cpu, want);
    expectClose(webgpu, want);
    expect(() => new nn.GroupNorm(4, 6)).toThrow('num_channels (6) must be divisible by num_groups (4)');

    const r = 2;
    const ps = kiln.tensor(values(1 * 8 * 2 * 3, 4)).reshape(1, 8, 2, 3);
    const flat = (ps.tolist() as number[][][][]).flat(3);
    // out[n, c, h * r + i, w * r + j] = x[n, c * r * r + i * r + j, h, w]
    const shuffled = Array.from({ length: 2 * 4 * 6 }, (_, k) => {
      const [c, oh, ow] = [Math.floor(k / 24), Math.floor(k / 6) % 4, k % 6];
      return at(flat, [1, 8, 2, 3], 0, c * r * r + (oh % r) * r + (ow % r), Math.floor(oh / r), Math.floor(ow / r));
    });
    const [pcpu, pgpu] = await both(new nn.PixelShuffle(r), ps);
    expectClose(pcpu, shuffled, 0);
    expectClose(pgpu, shuffled, 0);
    expect(new nn.Unflatten(1, [2, 4]).call(ps).shape).toEqual([1, 2, 4, 2, 3]);
    expect(new nn.Unflatten(-1, [3, 1]).call(ps).shape).toEqual([1, 8, 2, 3, 1]);
  });

  it('Conv1d (stride 2, padding 1, dilation 2, 2 groups) is the sliding dot product over L; ELU and PReLU are their formulas', async () => {
    const [N, C, L, O, K, S, P, D, G] = [2, 4, 9, 6, 3, 2, 1, 2, 2];
    const m = new nn.Conv1d(C, O, K, { stride: S, padding: P, dilation: D, groups: G });
    expect(m.weight.shape).toEqual([O, C / G, K]);
    const xs = values(N * C * L, 5);
    const w = (m.weight.tolist() as number[][][]).flat(2);
    const b = m.bias!.tolist() as number[];
    const OL = Math.floor((L + 2 * P - D * (K - 1) - 1) / S) + 1;
    const want = Array.from({ length: N * O * OL }, (_, i) => {
      const [n, o, t] = [Math.floor(i / (O * OL)), Math.floor(i / OL) % O, i % OL];
      const [cin, g] = [C / G, Math.floor(o / (O / G))];
      let acc = b[o]!;
      for (let c = 0; c < cin; c++) for (let k = 0; k < K; k++) {
        const pos = t * S - P + k * D;
        if (pos >= 0 && pos < L) acc += xs[(n * C + g * cin + c) * L + pos]! * w[(o * cin + c) * K + k]!;
      }
      return acc;
    });
    const [cpu, webgpu] = await both(m, kiln.tensor(xs).reshape(N, C, L));
    expectClose(cpu, want);
    expectClose(webgpu, want);

    const x = kiln.tensor(values(2 * 3 * 4, 6)).reshape(2, 3, 4);
    const flat = (x.tolist() as number[][][]).flat(2);
    const [ecpu, egpu] = await both(new nn.ELU(0.5), x);
    const elu = flat.map((v) => (v > 0 ? v : 0.5 * (Math.exp(v) - 1)));
    expectClose(ecpu, elu, 1e-6);
    expectClose(egpu, elu, 1e-6);
    const prelu = new nn.PReLU(3, 0.1);
    const [pcpu, pgpu] = await both(prelu, x);
    const pr = flat.map((v) => (v > 0 ? v : 0.1 * v));
    expectClose(pcpu, pr, 1e-6);
    expectClose(pgpu, pr, 1e-6);
    // d/da_c of the sum: the sum of the negative inputs of channel c.
    const p = new nn.PReLU(3, 0.1);
    await p.call(x).sum().backward();
    expectClose(p.weight.grad!.tolist(), [0, 1, 2].map((c) => flat.filter((v, i) => Math.floor(i / 4) % 3 === c && v <= 0).reduce((a, v) => a + v, 0)), 1e-5);
  });

  it('the loss modules compute what their functions do, and train through Module.call', async () => {
    const logits = kiln.tensor([[2, -1, 0.5], [0.1, 0.2, 3]], { requiresGrad: true });
    const target = kiln.tensor([0, 2], { dtype: 'int64' });
    // -log softmax at the target, averaged.
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
    const ce = ((lse([2, -1, 0.5]) - 2) + (lse([0.1, 0.2, 3]) - 3)) / 2;
    const loss = new nn.CrossEntropyLoss().call(logits, target);
    expect(loss.item()).toBeCloseTo(ce, 5);
    await loss.backward();
    expect(logits.grad!.shape).toEqual([2, 3]);
    expect(new nn.NLLLoss({ reduction: 'sum' }).call(logits.logSoftmax(1), target).item()).toBeCloseTo(2 * ce, 5);
    expect(new nn.MSELoss().call(kiln.tensor([1, 2, 3]), kiln.tensor([1, 0, 0])).item()).toBeCloseTo((0 + 4 + 9) / 3, 6);
  });
});
