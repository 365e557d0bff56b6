import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { differentiate } from '../../../src/passes/autodiff/differentiate.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { expectClose } from '../../helpers/compare.js';
import { useDefaultGpu } from '../default-gpu.js';

const round4 = (v: unknown) => (v as number[]).map((x) => Number(x.toFixed(4)));

// Moves and casts are autograd ops: their backward moves or casts the gradient back. The
// figures of the seed example are PyTorch's: mean((x + 2)^2 + 3) over [1, 2, 3] is
// (9 + 16 + 25) / 3 + 3 = 19.6667, and its gradient 2(x + 2) / 3.
describe('differentiable moves and casts', () => {
  const gpu = useDefaultGpu();

  it('the seed example with .to() in the chain: a CPU leaf moved to webgpu', async () => {
    const leaf = kiln.tensor([1, 2, 3], { requiresGrad: true });
    const x = await leaf.to('webgpu');
    expect(x.deviceName).toBe('webgpu:0');
    expect([x.requiresGrad, x.isLeaf]).toEqual([true, false]);
    const y = x.add(2).pow(2).add(3).mean();
    await y.backward();
    expect((await y.to('cpu')).item()).toBeCloseTo(19.6667, 4);
    expect(leaf.grad!.device).toBe('cpu');
    expect(round4(leaf.grad!.tolist())).toEqual([2, 2.6667, 3.3333]);
    expect(x.grad).toBeUndefined(); // not a leaf, as in PyTorch
  });

  it('there and back: CPU ops, webgpu ops, a loss on the CPU that also reads a CPU intermediate', async () => {
    // loss = sum(((w * 3).to(gpu).exp()).to(cpu) * h) + sum(h * h), h = w * 3 - 1
    const values = [0.1, -0.4, 0.7];
    const w = kiln.tensor(values, { requiresGrad: true });
    const h = w.mul(3).sub(1);
    const e = await (await w.mul(3).to('webgpu')).exp().to('cpu');
    const loss = e.mul(h).sum().add(h.mul(h).sum());
    await loss.backward();
    // d/dw: 3 e^{3w} h + 3 e^{3w} + 2 h * 3
    const expected = values.map((v) => {
      const ev = Math.exp(3 * v);
      const hv = 3 * v - 1;
      return 3 * ev * hv + 3 * ev + 6 * hv;
    });
    expectClose(w.grad!.data, kiln.tensor(expected).data, 1e-6, 1e-5);
  });

  it('a tensor shared by both sides of a move gets each contribution once', async () => {
    // h feeds the move and the CPU loss directly: loss = sum((h.to(gpu) * 2).to(cpu)) + sum(h), h = 2w
    const w = kiln.tensor([1, 2], { requiresGrad: true });
    const h = w.mul(2);
    const moved = await (await h.to('webgpu')).mul(2).to('cpu');
    await moved.sum().add(h.sum()).backward();
    expect(w.grad!.tolist()).toEqual([6, 6]);
  });

  it('a webgpu leaf with its loss read back: backward crosses the readback', async () => {
    const x = kiln.tensor([1, 2, 3], { requiresGrad: true, device: gpu() });
    const loss = await x.mul(x).sum().to('cpu');
    await loss.backward();
    expect(loss.item()).toBe(14);
    expect(x.grad!.deviceName).toBe('webgpu:0');
    expect((await x.grad!.to('cpu')).tolist()).toEqual([2, 4, 6]);
  });

  it('half() and float() cast the gradient back (CPU and webgpu)', async (ctx) => {
    // On the CPU: f32 -> f16 -> f32 rounds 0.1 to 0.0999755859375; the gradient passes through.
    const w = kiln.tensor([0.1, 2], { requiresGrad: true });
    const r = w.half().float();
    expect(r.tolist()).toEqual([0.0999755859375, 2]);
    await r.mul(kiln.tensor([3, 5])).sum().backward();
    expect(w.grad!.dtype).toBe('f32');
    expect(w.grad!.tolist()).toEqual([3, 5]);
    if (!gpu().features.has('shader-f16')) ctx.skip('this adapter has no shader-f16');
    const v = kiln.tensor([1.5, -2], { requiresGrad: true });
    const loss = (await v.to('webgpu', 'float16')).mul(4).float().sum();
    await loss.backward();
    expect(v.grad!.dtype).toBe('f32');
    expect(v.grad!.tolist()).toEqual([4, 4]);
    // A cast computed on the device (no host copy) records the same way: d/du sum(float(half(g)) * g), g = 1 * u, is 2u.
    const u = kiln.tensor([1, 2], { requiresGrad: true });
    const g = (await u.to('webgpu')).mul(1);
    await g.half().float().mul(g).sum().backward();
    expect(u.grad!.tolist()).toEqual([2, 4]);
  });

  it('to(dtype) inside a trace is a cast the autodiff pass differentiates; a move is a transfer node', async () => {
    // loss = sum(float(half(x)) * x): d/dx = float(half(x)) + x, where the second term passes
    // back through the float16 value, so it is rounded to float16 too, as in PyTorch.
    const g = new kiln.Graph('t');
    const x = kiln.Tensor.symbolic(g, g.addInput('x', { dtype: 'f32', shape: [2], device: 'cpu' }));
    const h = await x.to('float16');
    expect(h.dtype).toBe('f16');
    expect(await x.to('cpu', { dtype: 'f32' })).toBe(x);
    const moved = await x.to('webgpu');
    expect([moved.value.producer!.op, moved.value.type.device, moved.device]).toEqual(['transfer', 'webgpu', 'webgpu:0']);
    const loss = (await h.to('cpu', 'float32')).mul(x).sum();
    g.setOutputs([loss.value]);
    const back = differentiate(g, { loss: loss.value.name, wrt: ['x'] });
    const out = runOnCpu(back, { x: kiln.tensor([0.1, 3]).data });
    expectClose(out['grad.x']!, kiln.tensor([2 * 0.0999755859375, 6]).data, 1e-7, 1e-6);
  });
});
