import { afterAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { acquiredGpu } from '../../src/frontend/torch/devices.js';

const round4 = (v: unknown) => (v as number[]).map((x) => Number(x.toFixed(4)));
const required = !['', '0', undefined].includes(process.env['KILN_REQUIRE_GPU']);

// PyTorch users never acquire a device by hand: a tensor made on 'webgpu:N' before any device
// exists acquires it meanwhile, and ops on it wait for it. This file acquires one device
// (webgpu:1, the second device on the first adapter), and no other.
describe('a device acquired on first use', () => {
  afterAll(() => {
    kiln.webgpu.shutdown();
    kiln.webgpu.setDevicesPerAdapter(1);
  });

  it("kiln.tensor(data, { device: 'webgpu:1' }) before any device, then the seed example", async (ctx) => {
    if (!required && !(await kiln.webgpu.isAvailable())) ctx.skip('no GPU');
    kiln.webgpu.setDevicesPerAdapter(2);
    expect(acquiredGpu(0) ?? acquiredGpu(1)).toBeUndefined();
    const x = kiln.tensor([1, 2, 3], { device: 'webgpu:1', requiresGrad: true });
    expect([x.device, x.deviceType, x.shape]).toEqual(['webgpu:1', 'webgpu', [3]]);
    // Ops before the device is there are typed at once (shape errors too) and run once it is.
    const y = x.add(2).pow(2).add(3).mean();
    expect([y.deviceName, y.shape, y.requiresGrad]).toEqual(['webgpu:1', [], true]);
    expect(() => x.reshape(4)).toThrow(/reshape/);
    expect(() => y.item()).toThrow(/await t\.to\('cpu'\)/);
    await y.backward();
    expect((await y.to('cpu')).item()).toBeCloseTo(19.6667, 4);
    expect(x.grad!.deviceName).toBe('webgpu:1');
    expect(round4((await x.grad!.to('cpu')).tolist())).toEqual([2, 2.6667, 3.3333]);
    expect(acquiredGpu(1)).toBe(x.gpu);
    expect(acquiredGpu(0)).toBeUndefined();
    // Once it is there, factories place tensors on it at once.
    expect(kiln.ones([2], { device: 'webgpu:1' }).isPending).toBe(false);
  });
});
