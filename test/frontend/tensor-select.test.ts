import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

// The PyTorch tensor methods that pick, scan and summarise (tensor-select.ts), and the shape
// helpers PyTorch code reaches for (T, permute([...]), repeat, clone, cat(ts, { dim })), on the
// CPU and on WebGPU. Expected values come from PyTorch's definitions computed here in float64,
// never from kiln; gradients from the derivatives its documentation gives.

const X = [[1, 5, 2], [7, 0, 3], [-4, 6, 6]];

/** Each row's values in float64, for the references below. */
const rows = X.map((r) => r.map(Number));
const close = (got: unknown, want: number[] | number, tol = 1e-5) => {
  const g = (Array.isArray(got) ? got.flat(3) : [got]) as number[];
  const w = Array.isArray(want) ? want : [want];
  expect(g).toHaveLength(w.length);
  g.forEach((v, i) => expect(Math.abs(v - w[i]!), `element ${i}: ${v} vs ${w[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w[i]!))));
};

describe('PyTorch selection, scan and spread methods', () => {
  const gpu = useDefaultGpu();

  /** `f` on X on the CPU and on WebGPU, both as plain arrays; `on` moves a CPU tensor to X's device (as PyTorch, operands must share one). */
  const both = async (f: (x: kiln.Tensor, on: (t: kiln.Tensor) => Promise<kiln.Tensor>) => kiln.Tensor | kiln.Tensor[] | Promise<kiln.Tensor | kiln.Tensor[]>) => {
    const x = kiln.tensor(X);
    const xg = await x.to(gpu());
    const list = async (r: kiln.Tensor | kiln.Tensor[]) => (Array.isArray(r) ? Promise.all(r.map(async (t) => (await t.to('cpu')).tolist())) : (await r.to('cpu')).tolist());
    return [await list(await f(x, async (t) => t)), await list(await f(xg, (t) => t.to(gpu())))] as const;
  };

  it('var and std (Bessel-corrected by default, correction 0 on request), logsumexp and norms match their definitions', async () => {
    const mean = (r: number[]) => r.reduce((a, b) => a + b, 0) / r.length;
    const ss = (r: number[]) => r.reduce((a, v) => a + (v - mean(r)) ** 2, 0);
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
    const cases: [(x: kiln.Tensor) => kiln.Tensor, number[] | number][] = [
      [(x) => x.var(1), rows.map((r) => ss(r) / 2)],
      [(x) => x.var({ dim: 1, correction: 0 }), rows.map((r) => ss(r) / 3)],
      [(x) => x.var({ dim: 1, unbiased: false }), rows.map((r) => ss(r) / 3)],
      [(x) => x.std(0), [0, 1, 2].map((j) => Math.sqrt(ss(rows.map((r) => r[j]!)) / 2))],
      [(x) => x.std(), Math.sqrt(ss(rows.flat()) / 8)],
      [(x) => x.logsumexp(1), rows.map(lse)],
      [(x) => x.logsumexp([0, 1]), lse(rows.flat())],
      [(x) => x.norm(), Math.sqrt(rows.flat().reduce((a, v) => a + v * v, 0))],
      [(x) => x.norm(1, 1), rows.map((r) => r.reduce((a, v) => a + Math.abs(v), 0))],
      [(x) => x.norm(3, 1), rows.map((r) => r.reduce((a, v) => a + Math.abs(v) ** 3, 0) ** (1 / 3))],
      [(x) => x.norm(Infinity, 0), [7, 6, 6]],
      [(x) => x.prod(1), rows.map((r) => r.reduce((a, v) => a * v, 1))],
    ];
    for (const [f, want] of cases) {
      const [cpu, webgpu] = await both(f);
      close(cpu, want);
      close(webgpu, want);
    }
    // logsumexp keeps -inf where every element is -inf (the shift would be NaN), as PyTorch does.
    expect(kiln.tensor([[-Infinity, -Infinity], [0, -Infinity]]).logsumexp(1).tolist()).toEqual([-Infinity, 0]);
    expect(() => kiln.tensor(X).var({ dim: 1, correction: 0, unbiased: true })).toThrow('var(): give correction or unbiased, not both');
    expect(() => kiln.tensor(X).norm(0)).toThrow('norm(): p must be positive');
  });

  it('gather, indexSelect, topk, sort, cumsum, argmin, amax, any and all pick what PyTorch does', async () => {
    const ids = kiln.tensor([[2, 0], [1, 1], [0, 2]], { dtype: 'int64' });
    const expectBoth = async (f: Parameters<typeof both>[0], want: unknown) => {
      const [cpu, webgpu] = await both(f);
      expect(cpu).toEqual(want);
      expect(webgpu).toEqual(want);
    };
    await expectBoth(async (x, on) => x.gather(1, await on(ids)), [[2, 1], [0, 0], [-4, 6]]);
    await expectBoth(async (x, on) => x.indexSelect(0, await on(kiln.tensor([2, 0], { dtype: 'int64' }))), [[-4, 6, 6], [1, 5, 2]]);
    // Ties keep the lower index first.
    await expectBoth((x) => x.topk(2), [[[5, 2], [7, 3], [6, 6]], [[1, 2], [0, 2], [1, 2]]]);
    await expectBoth((x) => x.topk(1, 0, false), [[[-4, 0, 2]], [[2, 1, 0]]]);
    await expectBoth((x) => x.sort(), [[[1, 2, 5], [0, 3, 7], [-4, 6, 6]], [[0, 2, 1], [1, 2, 0], [0, 1, 2]]]);
    await expectBoth((x) => x.sort(0, true), [[[7, 6, 6], [1, 5, 3], [-4, 0, 2]], [[1, 2, 2], [0, 0, 1], [2, 1, 0]]]);
    await expectBoth((x) => x.cumsum(1), [[1, 6, 8], [7, 7, 10], [-4, 2, 8]]);
    await expectBoth((x) => x.cumprod(0), [[1, 5, 2], [7, 0, 6], [-28, 0, 36]]);
    await expectBoth((x) => x.argmin(1), [0, 1, 0]);
    await expectBoth((x) => x.argmin(), 6);
    await expectBoth((x) => x.amax(0), [7, 6, 6]);
    await expectBoth((x) => x.amin(1, true), [[1], [0], [-4]]);
    await expectBoth((x) => x.any(1), [true, true, true]);
    await expectBoth((x) => x.all(1), [true, false, true]);
    await expectBoth((x) => x.gt(5).any(0), [true, true, true]);
    await expectBoth((x) => x.gt(0).all(), false);
    // NaN ranks above every number (first when largest, last when smallest); ties keep the lower index first. On WebGPU as on the CPU.
    const odd = kiln.tensor([[2, NaN, 2, -1, NaN, 5, 2]]);
    const oddG = await odd.to(gpu());
    for (const [k, largest] of [[4, true], [5, false]] as const) {
      const want = odd.topk(k, -1, largest);
      const got = oddG.topk(k, -1, largest);
      expect([(await got.values.to('cpu')).tolist(), (await got.indices.to('cpu')).tolist()]).toEqual([want.values.tolist(), want.indices.tolist()]);
    }
    expect(odd.topk(4).indices.tolist()).toEqual([[1, 4, 5, 0]]);
    expect(odd.topk(5, -1, false).indices.tolist()).toEqual([[3, 0, 2, 6, 5]]);
    const { values, indices } = kiln.tensor(X).topk(1);
    expect([values.tolist(), indices.tolist()]).toEqual([[[5], [7], [6]], [[1], [0], [1]]]);
    expect(() => kiln.tensor(X).indexSelect(0, ids)).toThrow('indexSelect(): index must be 1-D, got shape [3,2]');
  });

  it('T, permute of an array, repeat, clone, cat and stack with { dim }, mm and bmm, as in PyTorch', async () => {
    const x = kiln.tensor(X);
    expect(x.T.tolist()).toEqual([[1, 7, -4], [5, 0, 6], [2, 3, 6]]);
    expect(kiln.tensor([[[1, 2]], [[3, 4]]]).T.shape).toEqual([2, 1, 2]);
    expect(x.permute([1, 0]).tolist()).toEqual(x.T.tolist());
    expect(kiln.tensor([1, 2]).repeat(2, 2).tolist()).toEqual([[1, 2, 1, 2], [1, 2, 1, 2]]);
    expect(kiln.tensor([[1], [2]]).repeat([1, 3]).tolist()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(() => x.repeat(2)).toThrow('repeat(): number of repeat dims (1) can not be smaller than number of tensor dims (2)');
    expect(x.clone().tolist()).toEqual(X);
    expect(kiln.cat([x, x], { dim: 1 }).shape).toEqual([3, 6]);
    expect(kiln.stack([x, x], { dim: 2 }).shape).toEqual([3, 3, 2]);
    expect(() => kiln.cat([x], { axis: 1 } as never)).toThrow('cat(): dim must be a number or { dim }, got {"axis":1}');
    expect(x.mm(x).tolist()).toEqual(x.matmul(x).tolist());
    expect(kiln.stack([x, x]).bmm(kiln.stack([x, x])).shape).toEqual([2, 3, 3]);
    expect(() => kiln.tensor([1, 2]).mm(x)).toThrow('mm(): both operands must be matrices');
    expect(x.long().dtype).toBe('i32');
    const [r, rg] = await both((t) => t.repeat(2, 1).sin().floor());
    expect(rg).toEqual(r);
    expect(kiln.tensor([0.5, 1.5, 2.5, -0.5, -1.2]).round().tolist()).toEqual([0, 2, 2, -0, -1]);
  });

  it('differentiates through them: gradients as PyTorch defines them', async () => {
    const x = kiln.tensor(X, { requiresGrad: true });
    // d logsumexp / dx = softmax(x) along the dim.
    await x.logsumexp(1).sum().backward();
    const softmax = rows.map((r) => r.map((v) => Math.exp(v) / r.reduce((a, u) => a + Math.exp(u), 0)));
    close(x.grad!.tolist(), softmax.flat());
    // d ||x||_2 / dx = x / ||x||.
    const y = kiln.tensor(X, { requiresGrad: true });
    await y.norm().backward();
    const n = Math.sqrt(rows.flat().reduce((a, v) => a + v * v, 0));
    close(y.grad!.tolist(), rows.flat().map((v) => v / n));
    // d var / dx = 2 (x - mean) / (n - 1) along the dim.
    const z = kiln.tensor(X, { requiresGrad: true });
    await z.var(1).sum().backward();
    close(z.grad!.tolist(), rows.flatMap((r) => r.map((v) => (2 * (v - r.reduce((a, u) => a + u, 0) / 3)) / 2)));
    // repeat sums the gradient of each copy; gather scatters it back to the picked elements.
    const w = kiln.tensor([1, 2], { requiresGrad: true });
    await w.repeat(3).mul(kiln.tensor([1, 2, 3, 4, 5, 6])).sum().backward();
    expect(w.grad!.tolist()).toEqual([1 + 3 + 5, 2 + 4 + 6]);
    const g = kiln.tensor(X, { requiresGrad: true });
    await g.gather(1, kiln.tensor([[2, 2], [0, 1], [1, 1]], { dtype: 'int64' })).sum().backward();
    expect(g.grad!.tolist()).toEqual([[0, 0, 2], [1, 1, 0], [0, 2, 0]]);
  });

  it('on WebGPU leaves too: gradients through gather, topk and cumsum on the device, and an op without a WebGPU kernel (det) through the host', async () => {
    const leaf = async (v: number[] | number[][]) => (await kiln.tensor(v).to(gpu())).requiresGrad_();
    const x = await leaf(X);
    // A number operand of an op whose input is still on its way (the gather's result) stays until it runs.
    await x.gather(1, await kiln.tensor([[2, 2], [0, 1], [1, 1]], { dtype: 'int64' }).to(gpu())).mul(3).sum().backward();
    expect(x.grad!.deviceName).toBe(x.deviceName);
    expect((await x.grad!.to('cpu')).tolist()).toEqual([[0, 0, 6], [3, 3, 0], [0, 6, 0]]);
    const t = await leaf([[3, 1, 2], [0, 9, 4]]);
    await t.topk(2).values.sum().backward();
    expect((await t.grad!.to('cpu')).tolist()).toEqual([[1, 0, 1], [0, 1, 1]]);
    // An op without a WebGPU kernel (det) and its gradient run on the host; the results come back
    // to the device, and a number operand waiting on them stays until they do.
    const n = await leaf(X);
    const d = kiln.apply('det', [n]);
    expect(d.deviceName).toBe(n.deviceName);
    await d.mul(3).backward();
    // det X = -204; d det / dX = the cofactor matrix.
    expect((await d.to('cpu')).item()).toBeCloseTo(-204, 3);
    const cof = (i: number, j: number) => {
      const m = X.filter((_, r) => r !== i).map((row) => row.filter((_, c) => c !== j));
      return (-1) ** (i + j) * (m[0]![0]! * m[1]![1]! - m[0]![1]! * m[1]![0]!);
    };
    close((await n.grad!.to('cpu')).tolist(), [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => 3 * cof(i, j))), 1e-4);
    // f = sum_i c_i * cumsum(c)_i: df/dc_k = cumsum(c)_k + sum_{i >= k} c_i.
    const c = await leaf([1, 2, 3]);
    await c.cumsum(0).mul(c).sum().backward();
    expect((await c.grad!.to('cpu')).tolist()).toEqual([1 + 6, 3 + 5, 6 + 3]);
  });
});
