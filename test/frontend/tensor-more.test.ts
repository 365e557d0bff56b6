import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';
import { expectNear, flat } from './float64-reference.js';

// PyTorch functions and methods PyTorch code reaches for (flip, roll, unbind, argsort, scatter,
// sign, expm1, log1p, reciprocal, lerp; linspace, eye, the *_like factories, randint, randperm;
// one_hot, normalize, cosine_similarity, cdist; Embedding.from_pretrained, clip_grad_value_,
// InstanceNorm), on the CPU and WebGPU against their documented definitions in float64.

const { nn } = kiln;
const F = nn.functional;

/** Pure relative error (at 0, exact), as these functions' near-zero accuracy is the point. */
const expectClose = (got: number[], want: number[], what: string, rel = 2e-6) => expectNear(got, want, what, { rtol: rel, atol: 0 });

describe('more of PyTorch\'s tensor API', () => {
  const gpu = useDefaultGpu();

  /** `f` on `x` on the CPU, then on WebGPU; both read back. */
  const both = async (f: (x: kiln.Tensor) => kiln.Tensor, x: kiln.Tensor) => [flat(f(x)), flat(await f(await x.to(gpu())).to('cpu'))] as const;

  it('flip, roll, unbind and argsort move elements as PyTorch indexes them', async () => {
    // [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    const x = kiln.arange(12, undefined, 1, { dtype: 'float32' }).reshape(3, 4);
    const at = (r: number, c: number) => r * 4 + c;
    const cases: [string, (t: kiln.Tensor) => kiln.Tensor, number[]][] = [
      ['flip([0, 1])', (t) => t.flip([0, 1]), Array.from({ length: 12 }, (_, i) => 11 - i)],
      ['flip(-1)', (t) => t.flip(-1), [0, 1, 2].flatMap((r) => [3, 2, 1, 0].map((c) => at(r, c)))],
      ['roll(1, 0)', (t) => t.roll(1, 0), [2, 0, 1].flatMap((r) => [0, 1, 2, 3].map((c) => at(r, c)))],
      ['roll([-1, 6], [0, 1])', (t) => t.roll([-1, 6], [0, 1]), [1, 2, 0].flatMap((r) => [2, 3, 0, 1].map((c) => at(r, c)))],
      ['roll(5) flattened', (t) => t.roll(5), Array.from({ length: 12 }, (_, i) => (i - 5 + 12) % 12)],
    ];
    for (const [name, f, want] of cases) {
      const [cpu, webgpu] = await both(f, x);
      expect(cpu, name).toEqual(want);
      expect(webgpu, name).toEqual(want);
    }
    const rows = x.unbind(1);
    expect(rows.map((r) => [r.shape, flat(r)])).toEqual([0, 1, 2, 3].map((c) => [[3], [at(0, c), at(1, c), at(2, c)]]));
    // Ties keep their order; descending too.
    const v = kiln.tensor([3, 1, 2, 1, 3]);
    const [asc, desc] = [flat(v.argsort()), flat(v.argsort(-1, true))];
    expect(asc).toEqual([1, 3, 2, 0, 4]);
    expect(desc).toEqual([0, 4, 2, 1, 3]);
    expect(() => x.roll([1, 2], [0])).toThrow('roll(): shifts (2) and dims (1) must be as many');
  });

  it('sign keeps NaN; expm1 and log1p keep the digits of tiny arguments, and their gradients are finite there', async () => {
    const xs = [-3, -1e-7, -0, 0, 1e-8, 3e-6, 0.5, 20, NaN];
    const x = kiln.tensor(xs);
    const [signCpu, signGpu] = await both((t) => t.sign(), x);
    const signs = xs.map((v) => (Number.isNaN(v) ? NaN : v > 0 ? 1 : v < 0 ? -1 : 0));
    expectClose(signCpu, signs, 'sign on the CPU');
    expectClose(signGpu, signs, 'sign on WebGPU');
    expect(flat(kiln.tensor([-4, 0, 7], { dtype: 'int32' }).sign())).toEqual([-1, 0, 1]);
    // f32 inputs: the references are of the f32 values.
    const f32 = Array.from(Float32Array.from(xs));
    for (const [name, f, ref] of [['expm1', (t: kiln.Tensor) => t.expm1(), Math.expm1], ['log1p', (t: kiln.Tensor) => t.log1p(), Math.log1p]] as const) {
      const [cpu, webgpu] = await both(f, x);
      expectClose(cpu, f32.map(ref), `${name} on the CPU`, 1e-6);
      expectClose(webgpu, f32.map(ref), `${name} on WebGPU`, 2e-6);
    }
    expectClose(flat(kiln.tensor([-200]).expm1()), [-1], 'expm1 where exp underflows');
    const g = kiln.tensor([0, 1e-8, 0.25]).requiresGrad_();
    await g.log1p().add(g.expm1()).sum().backward();
    expectClose(flat(g.grad!), [0, 1e-8, 0.25].map((v) => 1 / (1 + v) + Math.exp(v)), 'd(log1p + expm1)/dx', 1e-6);
    const [rec] = await both((t) => t.reciprocal(), kiln.tensor([-2, 0.5, 4]));
    expect(rec).toEqual([-0.5, 2, 0.25]);
    expect(flat(kiln.tensor([1, 2]).lerp(kiln.tensor([3, 6]), 0.25))).toEqual([1.5, 3]);
  });

  it('linspace, eye, the *_like factories, randint and randperm', async () => {
    // torch.linspace(3, 10, steps=5) in PyTorch's docs.
    expect(flat(kiln.linspace(3, 10, 5))).toEqual([3, 4.75, 6.5, 8.25, 10]);
    expect(flat(kiln.linspace(-10, 10, 1))).toEqual([-10]);
    expect(kiln.eye(2, 3).tolist()).toEqual([[1, 0, 0], [0, 1, 0]]);
    const onGpu = await kiln.tensor([[1, 2, 3]], { dtype: 'int32' }).to(gpu());
    const z = kiln.zerosLike(onGpu);
    expect([z.dtype, z.shape, z.deviceType]).toEqual(['i32', [1, 3], 'webgpu']);
    expect(flat(await kiln.onesLike(onGpu, { dtype: 'float32' }).to('cpu'))).toEqual([1, 1, 1]);
    expect(flat(kiln.fullLike(kiln.zeros([2]), 7))).toEqual([7, 7]);
    kiln.manualSeed(1);
    const r = kiln.randint(-2, 3, [1000]);
    expect(r.dtype).toBe('i32');
    const counts = new Map<number, number>();
    for (const v of flat(r)) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([-1, -2, 0, 1, 2].sort());
    for (const c of counts.values()) expect(c).toBeGreaterThan(150);
    const p = flat(kiln.randperm(50));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('one_hot, normalize and cosine_similarity; Embedding.fromPretrained and clipGradValue_', async () => {
    expect(F.oneHot(kiln.tensor([0, 2, 1], { dtype: 'int32' }), 4).tolist()).toEqual([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]);
    expect(F.oneHot(kiln.tensor([[1], [3]], { dtype: 'int32' })).shape).toEqual([2, 1, 4]);
    const a = [[3, 4, 0], [0, 0, 0]];
    const [nCpu, nGpu] = await both((t) => F.normalize(t, { dim: 1 }), kiln.tensor(a));
    expectClose(nCpu, [0.6, 0.8, 0, 0, 0, 0], 'normalize on the CPU');
    expectClose(nGpu, [0.6, 0.8, 0, 0, 0, 0], 'normalize on WebGPU');
    // x1 [2, 3] against x2 [1, 3] broadcast; a zero row gives 0 (its norm clamped at eps).
    const x2 = kiln.tensor([[1, 2, 2]]);
    const want = [(3 * 1 + 4 * 2) / (5 * 3), 0];
    expectClose(flat(new nn.CosineSimilarity({ dim: 1 }).call(kiln.tensor(a), x2)), want, 'cosine similarity');
    expectClose(flat(await F.cosineSimilarity(await kiln.tensor(a).to(gpu()), await x2.to(gpu())).to('cpu')), want, 'cosine similarity on WebGPU');

    const table = kiln.tensor([[1, 2], [3, 4], [5, 6]]);
    const frozen = nn.Embedding.fromPretrained(table);
    expect(frozen.call(kiln.tensor([2, 0], { dtype: 'int32' })).tolist()).toEqual([[5, 6], [1, 2]]);
    expect(frozen.weight.requiresGrad).toBe(false);
    expect(nn.Embedding.fromPretrained(table, { freeze: false }).weight.requiresGrad).toBe(true);
    expect(() => nn.Embedding.fromPretrained(kiln.zeros([3]))).toThrow('embeddings must be 2-D');

    const w = kiln.tensor([1, -1, 2]).requiresGrad_();
    await w.mul(kiln.tensor([5, 0.1, -3])).sum().backward();
    nn.utils.clipGradValue_([w], 1);
    expect(flat(w.grad!)).toEqual([1, Math.fround(0.1), -1]);
  });

  it('scatter, scatterAdd and scatterReduce write as torch.scatter does; cdist and InstanceNorm2d by their definitions', async () => {
    const x = kiln.zeros([3, 4]);
    // torch.scatter's docs: src [2, 5] larger than index [1, 4]: only src[0, :4] is read.
    const src = kiln.arange(1, 11, 1, { dtype: 'float32' }).reshape(2, 5);
    const index = kiln.tensor([[0, 1, 2, 0]], { dtype: 'int32' });
    const want = [[1, 0, 0, 4], [0, 2, 0, 0], [0, 0, 3, 0]];
    expect(x.scatter(0, index, src).tolist()).toEqual(want);
    expect(flat(await (await x.to(gpu())).scatter(0, await index.to(gpu()), await src.to(gpu())).to('cpu'))).toEqual(want.flat());
    expect(kiln.zeros([2, 4]).scatter(1, kiln.tensor([[1], [3]], { dtype: 'int32' }), 7).tolist()).toEqual([[0, 7, 0, 0], [0, 0, 0, 7]]);
    // Duplicates add up; scatterReduce amax keeps the self value (include_self).
    const dup = kiln.tensor([0, 1, 0, 1, 2], { dtype: 'int32' });
    expect(kiln.ones([3]).scatterAdd(0, dup, kiln.tensor([1, 2, 3, 4, 5])).tolist()).toEqual([5, 7, 6]);
    expect(kiln.tensor([2, 2, 2]).scatterReduce(0, dup, kiln.tensor([1, 5, 3, 4, -1]), 'amax').tolist()).toEqual([3, 5, 2]);
    expect(() => x.scatter(0, index, kiln.zeros([1, 2]))).toThrow('scatter(): src [1,2] must be at least as large as index [1,4] in every dimension');

    const a = [[0, 0], [3, 4], [1, 1]];
    const b = [[0, 0], [6, 8]];
    const d2 = a.flatMap((p) => b.map((q) => Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!)));
    expectClose(flat(kiln.cdist(kiln.tensor(a), kiln.tensor(b))), d2, 'cdist p=2');
    expectClose(flat(kiln.cdist(kiln.tensor(a), kiln.tensor(b), 1)), a.flatMap((p) => b.map((q) => Math.abs(p[0]! - q[0]!) + Math.abs(p[1]! - q[1]!))), 'cdist p=1');

    const xs = [1, 2, 3, 4, -1, 0, 1, 6, 5, 5, 5, 5];
    const norm = new nn.InstanceNorm2d(3);
    expect(String(norm)).toBe('InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)');
    const per = [0, 1, 2].flatMap((c) => {
      const v = xs.slice(c * 4, c * 4 + 4);
      const m = v.reduce((p, q) => p + q, 0) / 4;
      const sd = Math.sqrt(v.reduce((p, q) => p + (q - m) ** 2, 0) / 4 + 1e-5);
      return v.map((q) => (q - m) / sd);
    });
    const [inCpu, inGpu] = await both((t) => norm.call(t), kiln.tensor(xs).reshape(1, 3, 2, 2));
    expectClose(inCpu, per, 'InstanceNorm2d on the CPU', 1e-5);
    expectClose(inGpu, per, 'InstanceNorm2d on WebGPU', 1e-5);
    expect(() => new nn.InstanceNorm2d(3, { trackRunningStats: true })).toThrow('trackRunningStats is not supported');
    expect(String(new nn.Sequential(new nn.Flatten(), new nn.LeakyReLU(0.2), new nn.GELU(), new nn.Softmax(1), new nn.MaxPool2d(2), new nn.AdaptiveAvgPool2d(1)))).toBe([
      'Sequential(',
      '  (0): Flatten(start_dim=1, end_dim=-1)',
      '  (1): LeakyReLU(negative_slope=0.2)',
      "  (2): GELU(approximate='none')",
      '  (3): Softmax(dim=1)',
      '  (4): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)',
      '  (5): AdaptiveAvgPool2d(output_size=1)',
      ')',
    ].join('\n'));
  });
});
