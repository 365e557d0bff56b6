import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { backwardStats } from '../../../src/frontend/torch/autograd.js';
import { Graph } from '../../../src/ir/graph.js';
import { differentiate } from '../../../src/passes/autodiff/differentiate.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { expectClose } from '../../helpers/compare.js';
import { useDefaultGpu } from '../default-gpu.js';

const { nn } = kiln;
const round4 = (v: unknown) => (v as number[]).map((x) => Number(x.toFixed(4)));

describe('eager autograd', () => {
  const gpu = useDefaultGpu();

  for (const device of ['cpu', 'webgpu'] as const) {
    it(`the classic check on ${device}: y = ((x + 2) ** 2 + 3).mean() at x = [1, 2, 3]`, async () => {
      const x = kiln.tensor([1, 2, 3], { requiresGrad: true, ...(device === 'webgpu' ? { device: gpu() } : {}) });
      const y = x.add(2).pow(2).add(3).mean();
      expect(y.requiresGrad).toBe(true);
      expect(y.isLeaf).toBe(false);
      await y.backward();
      expect((await y.to('cpu')).item()).toBeCloseTo(19.6667, 4);
      expect(x.grad!.deviceType).toBe(device);
      expect(round4((await x.grad!.to('cpu')).tolist())).toEqual([2, 2.6667, 3.3333]);
    });
  }

  it('matches the graph pass on an MLP with a cross-entropy loss, and compiles the backward once per tape', async () => {
    kiln.manualSeed(1);
    const model = new nn.Sequential(new nn.Linear(5, 7), new nn.ReLU(), new nn.Linear(7, 3));
    const xs = kiln.randn([4, 5]);
    const targets = kiln.tensor([0, 2, 1, 2], { dtype: 'int32' });
    // The reference: the same loss traced as a graph, parameters as inputs, differentiated.
    const g = new Graph('ref');
    const names = model.namedParameters().map(([n]) => n);
    const host = Object.fromEntries(model.namedParameters().map(([n, p]) => [n, p.data]));
    await model.to('webgpu');
    const x = await xs.to('webgpu');
    const y = await targets.to('webgpu');
    const before = backwardStats.compiled;
    for (let k = 0; k < 2; k++) {
      model.zeroGrad();
      const loss = kiln.crossEntropy(model.call(x), y);
      await loss.backward();
    }
    expect(backwardStats.compiled - before).toBe(1);

    const inputs = names.map((n) => g.addInput(n, { dtype: 'f32', shape: host[n]!.shape, device: 'webgpu' }));
    const gx = g.addInput('x', { dtype: 'f32', shape: [4, 5], device: 'webgpu' });
    const gy = g.addInput('y', { dtype: 'i32', shape: [4], device: 'webgpu' });
    const params = Object.fromEntries(names.map((n, i) => [n, kiln.Tensor.symbolic(g, inputs[i]!)]));
    const h = kiln.Tensor.symbolic(g, gx).matmul(params['0.weight']!.t()).add(params['0.bias']!).relu();
    const logits = h.matmul(params['2.weight']!.t()).add(params['2.bias']!);
    const lossRef = kiln.crossEntropy(logits, kiln.Tensor.symbolic(g, gy));
    g.setOutputs([lossRef.value]);
    const back = differentiate(g, { loss: lossRef.value.name, wrt: names });
    const ref = runOnCpu(back, { ...host, x: xs.data, y: targets.data });
    for (const [n, p] of model.namedParameters()) expectClose((await p.grad!.to('cpu')).data, ref[`grad.${n}`]!, 1e-5, 1e-4);
  });

  it('accumulates across backward calls until zeroGrad; noGrad records nothing', async () => {
    const w = kiln.tensor([1, -2], { requiresGrad: true });
    await w.mul(3).sum().backward();
    await w.mul(w).sum().backward();
    expect(w.grad!.tolist()).toEqual([3 + 2, 3 - 4]);
    const m = new nn.Linear(2, 1);
    m.weight.grad = w;
    m.zeroGrad();
    expect(m.weight.grad).toBeUndefined();
    const z = kiln.noGrad(() => w.mul(2));
    expect(z.requiresGrad).toBe(false);
    expect(kiln.isGradEnabled()).toBe(true);
    await expect(z.sum().backward()).rejects.toThrow(/does not require grad/);
  });

  it('async noGrad scopes that overlap turn recording back on once the last has settled, not when the first does', async () => {
    const release: (() => void)[] = [];
    const scope = () => kiln.noGrad(() => new Promise<void>((resolve) => release.push(resolve)));
    const first = scope();
    const second = scope();
    expect(kiln.isGradEnabled()).toBe(false);
    release[0]!();
    await first;
    // The second scope is still open.
    expect(kiln.isGradEnabled()).toBe(false);
    release[1]!();
    await second;
    // The second found recording off: restoring what it found would leave it off for good.
    expect(kiln.isGradEnabled()).toBe(true);
  });

  it('backward(gradient) for a non-scalar, retainGraph, detach, and errors PyTorch users know', async () => {
    const x = kiln.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x);
    await expect(y.backward()).rejects.toThrow(/grad can be implicitly created only for scalar outputs/);
    await y.backward(kiln.tensor([1, 0.5, 0]), { retainGraph: true });
    expect(x.grad!.tolist()).toEqual([2, 2, 0]);
    await y.backward(kiln.tensor([1, 1, 1]));
    expect(x.grad!.tolist()).toEqual([4, 6, 6]);
    await expect(y.backward(kiln.tensor([1, 1, 1]))).rejects.toThrow(/backward through the graph a second time/);
    expect(x.detach().requiresGrad).toBe(false);
    expect(() => kiln.tensor([1], { dtype: 'int32', requiresGrad: true })).toThrow(/only tensors of floating point dtype can require gradients/);
    // A scalar operand is freed right after its op on the GPU; the tape keeps its value.
    const xg = kiln.tensor([1, 2], { requiresGrad: true, device: gpu() });
    await xg.mul(5).sum().backward();
    expect((await xg.grad!.to('cpu')).tolist()).toEqual([5, 5]);
  });

  it('convolution, pooling and flatten on the device (a small CNN) agree with the CPU', async () => {
    kiln.manualSeed(2);
    const make = () => new nn.Sequential(new nn.Conv2d(1, 3, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(12, 2));
    kiln.manualSeed(2);
    const cpu = make();
    kiln.manualSeed(2);
    const dev = make();
    await dev.to('webgpu');
    const x = kiln.randn([2, 1, 6, 6]);
    const t = kiln.tensor([1, 0], { dtype: 'int32' });
    await kiln.crossEntropy(cpu.call(x), t).backward();
    await kiln.crossEntropy(dev.call(await x.to('webgpu')), await t.to('webgpu')).backward();
    const a = cpu.namedParameters();
    const b = dev.namedParameters();
    for (let i = 0; i < a.length; i++) expectClose((await b[i]![1].grad!.to('cpu')).data, a[i]![1].grad!.data, 1e-5, 1e-4);
  });
});
