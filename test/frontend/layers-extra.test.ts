import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';
import { expectNear as expectClose, flat } from './float64-reference.js';

// The activations, element-wise losses, 1-D pooling and padding layers of torch.nn, on the CPU
// and on WebGPU, each against its definition in PyTorch's documentation computed here in
// float64, NaN and the extremes included (softplus past its threshold, probabilities of 0 and 1,
// logits of +-50).

const { nn } = kiln;
const F = nn.functional;

const X = [-30, -5, -1.5, -0.5, -1e-3, 0, 1e-3, 0.5, 1.5, 2.4, 5, 7, 30, NaN];
const log1pexp = (v: number) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)));

const ACTIVATIONS: [string, (x: kiln.Tensor) => kiln.Tensor, (v: number) => number][] = [
  ['ReLU6', (x) => new nn.ReLU6().call(x), (v) => Math.min(Math.max(v, 0), 6)],
  ['Hardtanh(-2, 3)', (x) => new nn.Hardtanh(-2, 3).call(x), (v) => Math.min(Math.max(v, -2), 3)],
  ['Softplus', (x) => new nn.Softplus().call(x), (v) => (v > 20 ? v : Math.log1p(Math.exp(v)))],
  ['Softplus(beta 2, threshold 5)', (x) => new nn.Softplus({ beta: 2, threshold: 5 }).call(x), (v) => (2 * v > 5 ? v : log1pexp(2 * v) / 2)],
  ['Mish', (x) => new nn.Mish().call(x), (v) => v * Math.tanh(log1pexp(v))],
  ['LogSigmoid', (x) => new nn.LogSigmoid().call(x), (v) => -log1pexp(-v)],
  ['Softsign', (x) => new nn.Softsign().call(x), (v) => v / (1 + Math.abs(v))],
  ['Tanhshrink', (x) => new nn.Tanhshrink().call(x), (v) => v - Math.tanh(v)],
  ['CELU(0.7)', (x) => new nn.CELU(0.7).call(x), (v) => Math.max(0, v) + Math.min(0, 0.7 * (Math.exp(v / 0.7) - 1))],
  ['SELU', (x) => new nn.SELU().call(x), (v) => 1.0507009873554805 * (Math.max(0, v) + Math.min(0, 1.6732632423543772 * (Math.exp(v) - 1)))],
];

describe('torch.nn activations, losses, 1-D pooling and padding', () => {
  const gpu = useDefaultGpu();

  /** `f` on CPU tensors, then on the same tensors moved to WebGPU; both read back. */
  const both = async (f: (...xs: kiln.Tensor[]) => kiln.Tensor, ...xs: kiln.Tensor[]) => {
    const cpu = flat(f(...xs));
    const moved = await Promise.all(xs.map((x) => x.to(gpu())));
    return [cpu, flat(await f(...moved).to('cpu'))] as const;
  };

  it('activations, NaN propagating', async () => {
    const x = kiln.tensor(X);
    for (const [name, f, ref] of ACTIVATIONS) {
      const [cpu, webgpu] = await both(f, x);
      expectClose(cpu, X.map(ref), `${name} on the CPU`);
      expectClose(webgpu, X.map(ref), `${name} on WebGPU`);
    }
    const g = kiln.tensor([1, -2, 3, 0.5, 4, -1]).reshape(2, 3, 1);
    expectClose(flat(new nn.GLU(1).call(kiln.tensor([1, -2, 0.5, 3, 4, -1, 2, 0.25]).reshape(2, 4))), [1 / (1 + Math.exp(-0.5)), -2 / (1 + Math.exp(-3)), 4 / (1 + Math.exp(-2)), -1 / (1 + Math.exp(-0.25))], 'GLU');
    expect(() => new nn.GLU(1).call(g)).toThrow('glu: halving dimension 1 of [2, 3, 1] needs an even size');
  });

  it('element-wise losses and their reductions, at the extremes', async () => {
    const xs = [-2, -0.4, 0.1, 0.9, 1.7, 3];
    const ys = [-1.5, 0.3, 0.1, 2, -0.2, 3.5];
    const d = xs.map((v, i) => v - ys[i]!);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
    const [x, y] = [kiln.tensor(xs), kiln.tensor(ys)];
    const cases: [string, (x: kiln.Tensor, y: kiln.Tensor) => kiln.Tensor, number[]][] = [
      ['L1Loss', (a, b) => new nn.L1Loss().call(a, b), [mean(d.map(Math.abs))]],
      ['L1Loss sum', (a, b) => new nn.L1Loss({ reduction: 'sum' }).call(a, b), [sum(d.map(Math.abs))]],
      ['SmoothL1Loss beta 0.5, none', (a, b) => new nn.SmoothL1Loss({ beta: 0.5, reduction: 'none' }).call(a, b), d.map((v) => (Math.abs(v) < 0.5 ? (0.5 * v * v) / 0.5 : Math.abs(v) - 0.25))],
      ['HuberLoss delta 0.8', (a, b) => new nn.HuberLoss({ delta: 0.8 }).call(a, b), [mean(d.map((v) => (Math.abs(v) < 0.8 ? 0.5 * v * v : 0.8 * (Math.abs(v) - 0.4))))]],
      ['MSELoss', (a, b) => new nn.MSELoss().call(a, b), [mean(d.map((v) => v * v))]],
    ];
    for (const [name, f, want] of cases) {
      const [cpu, webgpu] = await both(f, x, y);
      expectClose(cpu, want, `${name} on the CPU`);
      expectClose(webgpu, want, `${name} on WebGPU`);
    }

    // Probabilities of exactly 0 and 1 cost 100 (each log clamped at -100), not infinity.
    const ps = [0, 0.2, 0.5, 0.9, 1, 1];
    const ts = [1, 0, 0.3, 1, 0, 1];
    const ws = [1, 2, 0.5, 1, 1, 3];
    const bce = ps.map((p, i) => -ws[i]! * (ts[i]! * Math.max(Math.log(p), -100) + (1 - ts[i]!) * Math.max(Math.log(1 - p), -100)));
    const [bceCpu, bceGpu] = await both((p, t, w) => new nn.BCELoss({ weight: w, reduction: 'none' }).call(p, t), kiln.tensor(ps), kiln.tensor(ts), kiln.tensor(ws));
    expectClose(bceCpu, bce, 'BCELoss on the CPU');
    expectClose(bceGpu, bce, 'BCELoss on WebGPU');

    // Logits of +-50 stay finite; posWeight scales the positive term, per class (last dimension).
    const zs = [-50, -3, 0, 0.7, 4, 50];
    const pw = [2, 0.5, 1];
    const logits = zs.map((z, i) => pw[i % 3]! * ts[i]! * log1pexp(-z) + (1 - ts[i]!) * log1pexp(z));
    const [lgCpu, lgGpu] = await both((z, t, w) => new nn.BCEWithLogitsLoss({ posWeight: w }).call(z.reshape(2, 3), t.reshape(2, 3)), kiln.tensor(zs), kiln.tensor(ts), kiln.tensor(pw));
    expectClose(lgCpu, [mean(logits)], 'BCEWithLogitsLoss on the CPU');
    expectClose(lgGpu, [mean(logits)], 'BCEWithLogitsLoss on WebGPU');

    // A zero target contributes 0 (not NaN from 0 log 0); batchmean divides by the batch of 2.
    const lp = [-1.2, -0.4, -2.3, -0.1, -3, -0.7];
    const q = [0.3, 0.7, 0, 0.2, 0, 0.8];
    const kl = sum(q.map((t, i) => (t > 0 ? t * (Math.log(t) - lp[i]!) : 0))) / 2;
    const [klCpu, klGpu] = await both((a, b) => new nn.KLDivLoss({ reduction: 'batchmean' }).call(a.reshape(2, 3), b.reshape(2, 3)), kiln.tensor(lp), kiln.tensor(q));
    expectClose(klCpu, [kl], 'KLDivLoss on the CPU');
    expectClose(klGpu, [kl], 'KLDivLoss on WebGPU');
    const logQ = [-1.1, -0.6, -2, -0.3, -1.5, -0.9];
    expectClose(flat(F.klDiv(kiln.tensor(lp), kiln.tensor(logQ), { logTarget: true, reduction: 'sum' })), [sum(logQ.map((t, i) => Math.exp(t) * (t - lp[i]!)))], 'kl_div with a log target');
    expect(() => new nn.L1Loss().call(kiln.zeros([2, 3]), kiln.zeros([3, 2]))).toThrow('l1Loss: input f32[2,3] and target f32[3,2] differ in shape');
  });

  it('gradients of BCEWithLogitsLoss (posWeight) and SmoothL1Loss are their derivatives', async () => {
    const zs = [-4, -0.5, 0.3, 2];
    const ts = [1, 0, 1, 0.4];
    const z = kiln.tensor(zs).requiresGrad_();
    await new nn.BCEWithLogitsLoss({ posWeight: kiln.tensor([3]) }).call(z, kiln.tensor(ts)).backward();
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    expectClose(flat(z.grad!), zs.map((v, i) => (sig(v) * (3 * ts[i]! + 1 - ts[i]!) - 3 * ts[i]!) / 4), 'd BCEWithLogits / dz');
    const x = kiln.tensor([-2, -0.2, 0.1, 1.5]).requiresGrad_();
    await new nn.SmoothL1Loss({ beta: 0.5, reduction: 'sum' }).call(x, kiln.zeros([4])).backward();
    expectClose(flat(x.grad!), [-1, -0.4, 0.2, 1], 'd SmoothL1 / dx');
  });

  it('1-D pooling windows and padding modes, as PyTorch indexes them', async () => {
    const L = 7;
    const xs = [3, -1, 4, 1, -5, 9, 2, 6, -2, 0, 8, 7, -3, 5];
    const x = kiln.tensor(xs).reshape(1, 2, L);
    const row = (c: number) => xs.slice(c * L, (c + 1) * L);
    // maxPool1d(3, stride 2, padding 1): windows centred on 0, 2, 4, 6.
    const maxWant = [0, 1].flatMap((c) => [0, 2, 4, 6].map((o) => Math.max(...row(c).slice(Math.max(0, o - 1), o + 2))));
    // avgPool1d(2, stride 2, ceil mode, countIncludePad false): windows [0,2), [2,4), [4,6) and the overhanging [6,7).
    const avgWant = [0, 1].flatMap((c) => [[0, 2], [2, 4], [4, 6], [6, 7]].map(([a, b]) => row(c).slice(a, b).reduce((s, v) => s + v, 0) / (b! - a!)));
    // adaptiveAvgPool1d(3): bins [floor(i L / 3), ceil((i + 1) L / 3)).
    const adaptiveWant = [0, 1].flatMap((c) => [0, 1, 2].map((i) => {
      const [a, b] = [Math.floor((i * L) / 3), Math.ceil(((i + 1) * L) / 3)];
      return row(c).slice(a, b).reduce((s, v) => s + v, 0) / (b - a);
    }));
    const cases: [string, (x: kiln.Tensor) => kiln.Tensor, number[]][] = [
      ['MaxPool1d', (t) => new nn.MaxPool1d(3, { stride: 2, padding: 1 }).call(t), maxWant],
      ['AvgPool1d', (t) => new nn.AvgPool1d(2, { stride: 2, ceilMode: true, countIncludePad: false }).call(t), avgWant],
      ['AdaptiveAvgPool1d', (t) => new nn.AdaptiveAvgPool1d(3).call(t), adaptiveWant],
    ];
    // Padding (2, 1) of one row: reflect mirrors without the edge, replicate repeats it, circular wraps.
    const pad = (c: number, mode: string) => {
      const r = row(c);
      const at = (j: number) => (mode === 'reflect' ? r[j < 0 ? -j : j >= L ? 2 * (L - 1) - j : j]! : mode === 'replicate' ? r[Math.min(L - 1, Math.max(0, j))]! : mode === 'circular' ? r[(j + L) % L]! : j < 0 || j >= L ? 1.5 : r[j]!);
      return Array.from({ length: L + 3 }, (_, k) => at(k - 2));
    };
    cases.push(
      ['ReflectionPad1d', (t) => new nn.ReflectionPad1d([2, 1]).call(t), [0, 1].flatMap((c) => pad(c, 'reflect'))],
      ['ReplicationPad1d', (t) => new nn.ReplicationPad1d([2, 1]).call(t), [0, 1].flatMap((c) => pad(c, 'replicate'))],
      ['F.pad circular', (t) => F.pad(t, [2, 1], 'circular'), [0, 1].flatMap((c) => pad(c, 'circular'))],
      ['ConstantPad1d', (t) => new nn.ConstantPad1d([2, 1], 1.5).call(t), [0, 1].flatMap((c) => pad(c, 'constant'))],
      // (left 1, right -2, top 1, bottom 0) on the [2, 7] planes: a row of zeros above, cropped right.
      ['ZeroPad2d with a crop', (t) => new nn.ZeroPad2d([1, -2, 1, 0]).call(t), [...new Array<number>(6).fill(0), 0, ...row(0).slice(0, 5), 0, ...row(1).slice(0, 5)]],
    );
    for (const [name, f, want] of cases) {
      const [cpu, webgpu] = await both(f, x);
      expectClose(cpu, want, `${name} on the CPU`);
      expectClose(webgpu, want, `${name} on WebGPU`);
    }
    expect(() => new nn.ReflectionPad2d([1, 2] as unknown as number)).toThrow('ReflectionPad2d: padding must be a number or 4 numbers, got (1, 2)');
  });
});
