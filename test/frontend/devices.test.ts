import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

// The device API as PyTorch users know it (torch.cuda's device_count, get_device_name,
// is_available), device indices acquired on first use, and to() in PyTorch's argument forms.
// One device per test file: indices past the default are checked without acquiring them.

describe('kiln.webgpu device indices', () => {
  useDefaultGpu();

  it('counts and names devices by adapter; webgpu:N past the count fails clearly', async () => {
    expect(await kiln.webgpu.isAvailable()).toBe(true);
    const adapters = await kiln.webgpu.devices();
    expect(await kiln.webgpu.deviceCount()).toBe(adapters.length);
    expect(await kiln.webgpu.deviceName(0)).toBe(adapters[0]!.name);
    const count = adapters.length;
    await expect(kiln.webgpu.deviceName(count)).rejects.toThrow(`there is no device webgpu:${count}`);
    await expect(kiln.tensor([1]).to(`webgpu:${count}`)).rejects.toThrow(/kiln\.webgpu\.setDevicesPerAdapter\(n\) gives an adapter more/);
    // Two devices per adapter: indices 2k and 2k+1 share adapter k.
    kiln.webgpu.setDevicesPerAdapter(2);
    try {
      expect(await kiln.webgpu.deviceCount()).toBe(2 * count);
      expect(await kiln.webgpu.deviceName(1)).toBe(adapters[0]!.name);
    } finally {
      kiln.webgpu.setDevicesPerAdapter(1);
    }
    expect(() => kiln.webgpu.setDevicesPerAdapter(0)).toThrow(/positive integer/);
  });

  it("'webgpu' is webgpu:0, the default device; names are checked", async () => {
    expect(await kiln.webgpu.device(0)).toBe(await kiln.webgpu.device());
    const x = await kiln.tensor([1, 2]).to('webgpu:0');
    expect(x.deviceName).toBe('webgpu:0');
    expect(x.gpu).toBe(await kiln.webgpu.device());
    await expect(kiln.tensor([1]).to('cuda' as 'cpu')).rejects.toThrow("unknown device 'cuda' (devices: 'cpu', 'webgpu', 'webgpu:N')");
    await expect(kiln.tensor([1]).to('webgpu:01' as 'cpu')).rejects.toThrow(/unknown device 'webgpu:01'/);
  });
});

describe('to() argument forms', () => {
  useDefaultGpu();

  it('takes a device, a dtype, a device and a dtype, { device, dtype }, or another tensor', async () => {
    const x = kiln.tensor([0.5, 2]);
    const both = await x.to('webgpu', 'float16');
    expect([both.deviceName, both.dtype]).toEqual(['webgpu:0', 'f16']);
    const viaOpts = await x.to('webgpu', { dtype: 'half' });
    expect(viaOpts.dtype).toBe('f16');
    const viaObject = await x.to({ device: 'webgpu:0', dtype: 'int32' });
    expect([viaObject.deviceName, viaObject.dtype]).toEqual(['webgpu:0', 'i32']);
    const like = await kiln.tensor([7, 8]).to(both);
    expect([like.deviceName, like.dtype]).toEqual(['webgpu:0', 'f16']);
    const back = await both.to('cpu', 'float32');
    expect([back.deviceName, back.dtype, back.tolist()]).toEqual(['cpu', 'f32', [0.5, 2]]);
    expect((await x.to('float16')).dtype).toBe('f16');
  });

  it('refuses what it does not accept, saying what it does', async () => {
    const x = kiln.tensor([1]);
    await expect(x.to('float16', 'webgpu' as 'f16')).rejects.toThrow(/a second argument \(the dtype\) follows a device, as in t\.to\('webgpu', 'float16'\)/);
    await expect(x.to('webgpu', 'float64' as 'f32')).rejects.toThrow(/unknown dtype 'float64'/);
    await expect(x.to('webgpu', { device: 'cpu' })).rejects.toThrow(/the second argument is a dtype or \{ dtype, nonBlocking \}/);
    await expect(x.to({ device: 'webgpu', copy: true } as kiln.ToOptions)).rejects.toThrow(/unknown option\(s\) copy \(accepted: device, dtype, nonBlocking\)/);
    await expect(x.to('float16', { dtype: 'float32' })).rejects.toThrow(/follows a device/);
    await expect(x.to({ device: 'cpu', dtype: 'f16' }, 'float32')).rejects.toThrow(/two different dtypes given \(float16 and float32\)/);
    await expect(x.to(3 as unknown as 'cpu')).rejects.toThrow(/to\(\) takes a device .*got 3/);
  });
});
