import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

const { nn } = kiln;

// A device acquired without optional features stands in for an adapter without shader-f16
// (Chromium's SwiftShader, many mobile GPUs).
describe('float16 on a device without shader-f16', () => {
  const gpu = useDefaultGpu({ optionalFeatures: [] });
  const noF16 = /float16 tensors need the WebGPU feature 'shader-f16', which this device \(.*\) lacks; keep the model in float32 on this device/;

  it('the device really lacks the feature', () => {
    expect(gpu().features.has('shader-f16')).toBe(false);
  });

  it('tensor.half() and .to({ dtype: "float16" }) fail clearly', async () => {
    const x = await kiln.tensor([1, 2, 3]).to('webgpu');
    expect(() => x.half()).toThrow(noF16);
    expect(() => x.half()).toThrow(kiln.MissingFeatureError);
    await expect(x.to({ dtype: 'float16' })).rejects.toThrow(noF16);
    await expect(x.to('f16')).rejects.toThrow(noF16);
    await expect(kiln.tensor([1, 2]).to({ device: 'webgpu', dtype: 'float16' })).rejects.toThrow(noF16);
    // f16 data may live on the CPU, but not move to this device.
    const h = kiln.tensor([1, 2]).half();
    await expect(h.to('webgpu')).rejects.toThrow(/moving a float16 tensor to webgpu:0: float16 tensors need/);
  });

  it('module.half() and module.to({ dtype: "float16" }) fail and leave the module as it was', async () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm2d(2));
    await m.to('webgpu');
    expect(() => m.half()).toThrow(/Sequential\.half\(\): float16 tensors need the WebGPU feature 'shader-f16'/);
    await expect(m.to({ dtype: 'float16' })).rejects.toThrow(noF16);
    expect(m.parameters().every((p) => p.dtype === 'f32' && p.device === 'webgpu:0')).toBe(true);
    // float32 keeps working on this device.
    const y = (m.at(0) as InstanceType<typeof nn.Linear>).call(await kiln.ones([1, 3]).to('webgpu'));
    expect((await y.to('cpu')).shape).toEqual([1, 2]);
  });

  it('autocast and a compiled step with autocast fail clearly', async () => {
    const m = new nn.Linear(3, 2);
    await m.to('webgpu');
    const x = await kiln.ones([1, 3]).to('webgpu');
    expect(() => kiln.amp.autocast('webgpu', () => m.call(x))).toThrow(/autocast\('webgpu'\) computing in float16: float16 tensors need the WebGPU feature 'shader-f16'/);
    const batch = { x: kiln.ones([1, 3]) };
    const opt = new kiln.optim.SGD(m.parameters(), { lr: 0.1 });
    await expect(kiln.compileTrainStep(m, (mm, b) => mm.call(b.x!).sum(), opt, batch, { device: gpu(), autocast: 'float16' }))
      .rejects.toThrow(/compileTrainStep with autocast: 'float16': float16 tensors need the WebGPU feature 'shader-f16'/);
  });
});
