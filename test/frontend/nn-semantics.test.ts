import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';

const { nn, functional: F } = kiln;

// Hand-computed answers on tiny inputs (the CPU reference is the oracle of the GPU tests, so the
// modules' semantics are checked here against PyTorch's documented behaviour).

// Five decimals, and -0 as 0 (hardswish(-4) is -0).
const round = (x: unknown): unknown => (Array.isArray(x) ? x.map(round) : typeof x === 'number' ? Math.round(x * 1e5) / 1e5 + 0 : x);

describe('nn modules compute what PyTorch documents', () => {
  it('Linear: x W^T + b', async () => {
    const m = new nn.Linear(2, 3);
    await m.loadStateDict({ weight: kiln.tensor([[1, 2], [3, 4], [5, 6]]), bias: kiln.tensor([0.5, 0, -1]) });
    expect(m.call(kiln.tensor([[1, 1], [0, 2]])).tolist()).toEqual([[3.5, 7, 10], [4.5, 8, 11]]);
  });

  it("Conv2d: padding 'same' keeps the size (odd padding after) and sums the window", async () => {
    const m = new nn.Conv2d(1, 1, 2, { padding: 'same', bias: false });
    await m.loadStateDict({ weight: kiln.ones([1, 1, 2, 2]) });
    const x = kiln.arange(1, 10).float().reshape(1, 1, 3, 3);
    // Padding is 0 before and 1 after in each dimension, so the window starts at the pixel.
    expect(m.call(x).tolist()).toEqual([[[[12, 16, 9], [24, 28, 15], [15, 17, 9]]]]);
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/in_channels \(3\) must be divisible by groups \(2\)/);
  });

  it('kiln.functional mirrors torch.nn.functional', () => {
    kiln.manualSeed(1);
    const conv = new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1 });
    const x = kiln.randn([1, 2, 5, 5]);
    expect(F.conv2d(x, conv.weight, conv.bias, { stride: 2, padding: 1 }).tolist()).toEqual(conv.call(x).tolist());
    expect(F.linear(kiln.ones([1, 2]), kiln.tensor([[1, 2]])).tolist()).toEqual([[3]]);
    expect(F.relu(kiln.tensor([-1, 1])).tolist()).toEqual([0, 1]);
    expect(F.batchNorm(kiln.ones([1, 1, 1, 1]), kiln.tensor([0.5]), kiln.tensor([0.25]), { eps: 0 }).tolist()).toEqual([[[[1]]]]);
    expect(kiln.nn.functional).toBe(F);
  });

  it('Conv2d: an int padding is symmetric; a pair is [h, w]', async () => {
    const m = new nn.Conv2d(1, 1, 1, { padding: [1, 0], bias: false });
    await m.loadStateDict({ weight: kiln.ones([1, 1, 1, 1]) });
    expect(m.call(kiln.ones([1, 1, 1, 2])).tolist()).toEqual([[[[0, 0], [1, 1], [0, 0]]]]);
  });

  it('BatchNorm2d (eval): (x - mean) / sqrt(var + eps) * weight + bias per channel', async () => {
    const m = new nn.BatchNorm2d(2, { eps: 0 }).eval();
    await m.loadStateDict({
      weight: kiln.tensor([2, 1]), bias: kiln.tensor([0, 1]),
      running_mean: kiln.tensor([1, -1]), running_var: kiln.tensor([4, 1]), num_batches_tracked: kiln.tensor(0, { dtype: 'int32' }),
    });
    expect(m.call(kiln.tensor([[[[3]], [[3]]]])).tolist()).toEqual([[[[2]], [[5]]]]);
    // Training mode normalises with the batch's statistics (biased variance) and updates the running ones.
    m.train();
    expect(m.call(kiln.tensor([[[[1]], [[0]]], [[[3]], [[2]]]])).tolist()).toEqual([[[[-2]], [[0]]], [[[2]], [[2]]]]);
    expect(round(m.runningMean!.tolist())).toEqual([1.1, -0.8]);
    expect(round(m.runningVar!.tolist())).toEqual([3.8, 1.1]); // unbiased batch variance 2 in both
  });

  it('BatchNorm1d (eval): per feature of [N, C] and [N, C, L]; other ranks are refused', async () => {
    const m = new nn.BatchNorm1d(2, { eps: 0 }).eval();
    await m.loadStateDict({
      weight: kiln.tensor([2, 1]), bias: kiln.tensor([0, 1]),
      running_mean: kiln.tensor([1, -1]), running_var: kiln.tensor([4, 1]), num_batches_tracked: kiln.tensor(0, { dtype: 'int32' }),
    });
    expect(m.call(kiln.tensor([[3, 3], [1, -1]])).tolist()).toEqual([[2, 5], [0, 1]]);
    expect(m.call(kiln.tensor([[[3, 1], [3, -1]]])).tolist()).toEqual([[[2, 0], [5, 1]]]);
    expect(() => m.call(kiln.ones([1, 2, 1, 1]))).toThrow(/BatchNorm1d: expected 2D or 3D input \(got 4D input\)/);
  });

  it('LayerNorm: biased variance over the trailing dimensions', () => {
    const m = new nn.LayerNorm(2, { eps: 0 });
    expect(m.call(kiln.tensor([[1, 3], [5, 5.5]])).tolist()).toEqual([[-1, 1], [-1, 1]]);
    expect(() => m.call(kiln.ones([2, 3]))).toThrow(/normalized shape \[2\] does not match the trailing dimensions of the input \[2, 3\]/);
  });

  it('Embedding: rows by index; the padding row starts at zero', () => {
    const m = new nn.Embedding(4, 2, { paddingIdx: 1 });
    const w = m.weight.tolist() as number[][];
    expect(w[1]).toEqual([0, 0]);
    expect(m.call(kiln.tensor([[3, 1]], { dtype: 'int32' })).tolist()).toEqual([[w[3], [0, 0]]]);
  });

  it('AvgPool2d counts padding in the divisor by default (countIncludePad), MaxPool2d ignores it', () => {
    const x = kiln.ones([1, 1, 2, 2]);
    expect(round(new nn.AvgPool2d(3, { stride: 1, padding: 1 }).call(x).tolist())).toEqual(round([[[[4 / 9, 4 / 9], [4 / 9, 4 / 9]]]]));
    expect(new nn.AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false }).call(x).tolist()).toEqual([[[[1, 1], [1, 1]]]]);
    expect(new nn.MaxPool2d(2).call(kiln.arange(0, 16).float().reshape(1, 1, 4, 4)).tolist()).toEqual([[[[5, 7], [13, 15]]]]);
    expect(new nn.AdaptiveAvgPool2d(1).call(kiln.arange(0, 8).float().reshape(1, 2, 2, 2)).tolist()).toEqual([[[[1.5]], [[5.5]]]]);
  });

  it('Flatten keeps the batch by default; activations and softmax', () => {
    expect(new nn.Flatten().call(kiln.zeros([2, 3, 4, 5])).shape).toEqual([2, 60]);
    expect(new nn.Flatten(0, 2).call(kiln.zeros([2, 3, 4, 5])).shape).toEqual([24, 5]);
    const x = kiln.tensor([-1, 0, 2]);
    expect(new nn.ReLU().call(x).tolist()).toEqual([0, 0, 2]);
    expect(round(new nn.Hardswish().call(kiln.tensor([-4, -1, 1, 4])).tolist())).toEqual(round([0, -1 / 3, 2 / 3, 4]));
    expect(round(new nn.SiLU().call(x).tolist())).toEqual(round([-1 / (1 + Math.E), 0, 2 / (1 + Math.exp(-2))]));
    expect(round(new nn.Softmax(-1).call(kiln.tensor([0, Math.log(3)])).tolist())).toEqual([0.25, 0.75]);
    expect(round(new nn.GELU().call(kiln.tensor([1])).tolist())).toEqual(round([0.8413447460685429]));
  });

  it('Dropout is the identity in eval mode; in training it zeroes or scales by 1 / (1 - p)', () => {
    const x = kiln.tensor([1, 2, 3, 4, 5, 6, 7, 8]);
    const d = new nn.Dropout(0.5);
    expect(d.training).toBe(true);
    const y = d.call(x).tolist() as number[];
    y.forEach((v, i) => expect([0, 2 * (i + 1)]).toContain(v));
    d.eval();
    expect(d.call(x)).toBe(x);
  });

  it('ChannelShuffle(2) interleaves the two halves of the channels', () => {
    const x = kiln.arange(0, 6).float().reshape(1, 6, 1, 1);
    expect((new nn.ChannelShuffle(2).call(x).reshape(6)).tolist()).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('ModuleList registers its modules and has no forward; names must be unique', () => {
    class Net extends nn.Module {
      readonly layers = this.registerModule('layers', new nn.ModuleList([new nn.Linear(2, 2), new nn.ReLU(), new nn.Linear(2, 1)]));
      forward(x: kiln.Tensor) { let h = x; for (const l of this.layers) h = l.call(h); return h; }
    }
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias']);
    expect(net.call(kiln.ones([3, 2])).shape).toEqual([3, 1]);
    expect(() => net.layers.forward()).toThrow(/ModuleList has no forward/);
    class Twice extends nn.Module {
      constructor() { super(); this.registerModule('a', new nn.ReLU()); this.registerBuffer('a', kiln.zeros([1])); }
      forward(x: kiln.Tensor) { return x; }
    }
    expect(() => new Twice()).toThrow(/Twice already has a parameter, buffer or module named 'a'/);
  });
});

describe('Tensor API', () => {
  it('refuses shapes that are not shapes with a KilnError, never a raw RangeError', () => {
    for (const [make, shape] of [[kiln.zeros, [-1, 2]], [kiln.ones, [1.5]], [kiln.randn, [1e6, 1e6]], [kiln.zeros, [NaN]]] as const) {
      expect(() => make(shape as unknown as number[])).toThrow(kiln.KilnError);
    }
    expect(() => kiln.zeros([1e6, 1e6])).toThrow(/has 1000000000000 elements, more than a host tensor can hold/);
    expect(() => kiln.zeros([-1, 2])).toThrow(/shape \[-1,2\] must be a list of non-negative integers/);
    expect(kiln.zeros([0, 3]).shape).toEqual([0, 3]);
  });
  it('moves and reshapes like PyTorch', () => {
    const x = kiln.arange(0, 6).reshape(2, 3);
    expect(x.dtype).toBe('i32');
    expect(x.transpose(0, 1).tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(x.flatten().tolist()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(x.unsqueeze(1).shape).toEqual([2, 1, 3]);
    expect(x.unsqueeze(-1).shape).toEqual([2, 3, 1]);
    expect(x.squeeze(0)).toBe(x); // not of size 1: unchanged, as PyTorch
    expect(x.reshape(1, 6).squeeze().shape).toEqual([6]);
    expect(x.expand(2, 2, -1).shape).toEqual([2, 2, 3]);
    expect(x.split(2, 1).map((t) => t.tolist())).toEqual([[[0, 1], [3, 4]], [[2], [5]]]);
    expect(x.chunk(2, 0).map((t) => t.tolist())).toEqual([[[0, 1, 2]], [[3, 4, 5]]]);
    expect(x.narrow(1, 1, 2).tolist()).toEqual([[1, 2], [4, 5]]);
    expect(x.narrow(-1, -1, 1).tolist()).toEqual([[2], [5]]);
    expect(x.narrow(0, 2, 0).shape).toEqual([0, 3]);
    expect(() => x.narrow(1, 2, 2)).toThrow('narrow(): start (2) + length (2) exceeds dimension size (3) of dim 1');
    expect(kiln.cat([x, x], 1).shape).toEqual([2, 6]);
    expect(kiln.stack([x, x], 1).shape).toEqual([2, 2, 3]);
    expect(x.argmax().tolist()).toBe(5);
    expect(x.float().max({ dim: 1 }).tolist()).toEqual([2, 5]);
    expect(() => x.transpose(0, 2)).toThrow('Dimension out of range (expected to be in range of [-2, 1], but got 2)');
  });

  it('matmul treats 1-D operands as vectors', () => {
    const a = kiln.tensor([[1, 2], [3, 4]]);
    const v = kiln.tensor([1, 1]);
    expect(a.matmul(v).tolist()).toEqual([3, 7]);
    expect(v.matmul(a).tolist()).toEqual([4, 6]);
    expect(v.matmul(v).tolist()).toBe(2);
  });

  it('dtypes by PyTorch names; to() without a device converts in place of the device', async () => {
    await expect(kiln.tensor([1.7, -1.7]).to('int32').then((t) => t.tolist())).resolves.toEqual([1, -1]);
    expect((await kiln.tensor([1, 2]).to({ dtype: 'half' })).dtype).toBe('f16');
    expect(kiln.tensor([0, 2]).bool().tolist()).toEqual([false, true]);
    expect(() => kiln.tensor([1], { dtype: 'float64' as never })).toThrow(/unknown dtype 'float64' \(accepted: f32, float32/);
    expect(() => kiln.tensor([1], { dtype: 'int32', requiresGrad: true })).toThrow(/only tensors of floating point dtype can require gradients/);
    await expect(kiln.tensor([1, 2]).to('gpu' as never)).rejects.toThrow(/unknown device 'gpu'/);
  });
});
