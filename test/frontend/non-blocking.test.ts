import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

describe('tensor.to(device, { nonBlocking: true })', () => {
  const gpu = useDefaultGpu();

  it('returns the device tensor at once (no Promise); later ops see the data, even if the host array changes after', async () => {
    gpu();
    // A batch as a DataLoader worker hands it over: in a SharedArrayBuffer (dawn.node's writeBuffer crashes on those).
    const data = new Float32Array(new SharedArrayBuffer(16));
    data.set([1, -2, 3.5, 4]);
    const x = kiln.Tensor.fromData({ dtype: 'f32', shape: [2, 2], data });
    const g = x.to('webgpu', { nonBlocking: true });
    expect(g).toBeInstanceOf(kiln.Tensor);
    expect(g.device).toBe('webgpu:0');
    data.fill(0);
    const y = g.mul(2).relu();
    expect((await y.to('cpu')).tolist()).toEqual([[2, 0], [7, 8]]);
    const h = kiln.tensor([1.5, 2.5]).to({ device: 'webgpu', dtype: 'int32', nonBlocking: true });
    expect([h.device, h.dtype]).toEqual(['webgpu:0', 'i32']);
    expect((await h.to('cpu')).tolist()).toEqual([1, 2]);
  });

  it('moves that need no copy return the tensor; a readback cannot be non-blocking', async () => {
    gpu();
    const x = kiln.tensor([1, 2]);
    expect(x.to('cpu', { nonBlocking: true })).toBe(x);
    const g = await x.to('webgpu');
    expect(g.to('webgpu:0', { nonBlocking: true })).toBe(g);
    expect(() => g.to('cpu', { nonBlocking: true })).toThrow(/a move to the CPU is a readback, which must be awaited: `await t.to\('cpu'\)`/);
    await expect(x.to('webgpu', { nonBlocking: 1 as unknown as boolean })).rejects.toThrow(/nonBlocking must be true or false, got 1/);
    // Without nonBlocking, to() is a Promise as always.
    expect(x.to('webgpu')).toBeInstanceOf(Promise);
  });

  it('records the move for autograd: the gradient flows back to the host tensor', async () => {
    gpu();
    const x = kiln.tensor([1, 2, 3], { requiresGrad: true });
    const loss = x.to('webgpu', { nonBlocking: true }).mul(3).sum();
    await loss.backward();
    expect(x.grad!.device).toBe('cpu');
    expect(x.grad!.tolist()).toEqual([3, 3, 3]);
  });
});
