import { describe, expect, it } from 'vitest';
import { choosePrecision, kernelTarget, type AdapterTraits } from '../src/precision.js';
import { parseGraph } from '../src/ir/parser.js';

const g = parseGraph('graph g(%x: f32[1024,1024] @webgpu) -> (f32[1024,1024] @webgpu) {\n  %0 = relu(%x) : f32[1024,1024] @webgpu\n  return %0\n}\n');
const gpu: AdapterTraits = { description: 'Some discrete GPU', architecture: 'rdna-3', features: ['shader-f16'], maxBindingBytes: 2 ** 30 };
const lavapipe: AdapterTraits = { description: 'llvmpipe: Mesa 25', architecture: 'software', features: ['shader-f16'], maxBindingBytes: 2 ** 30 };
const noF16: AdapterTraits = { description: 'SwiftShader', architecture: 'swiftshader', features: [], maxBindingBytes: 2 ** 27 };

describe('--precision', () => {
  it('auto picks f16 on a GPU with native shader-f16', () => {
    expect(choosePrecision('auto', gpu, g)).toEqual({ precision: 'fp16', reason: expect.stringMatching(/has shader-f16/) });
  });
  it('auto stays f32 on a software adapter and without shader-f16, saying why', () => {
    expect(choosePrecision('auto', lavapipe, g).reason).toMatch(/software adapter: f16 math is emulated/);
    expect(choosePrecision('auto', lavapipe, g).precision).toBe('fp32');
    expect(choosePrecision('auto', noF16, g)).toEqual({ precision: 'fp32', reason: expect.stringMatching(/lacks shader-f16/) });
  });
  it('auto picks f16 when an f32 tensor would not fit a storage binding', () => {
    const c = choosePrecision('auto', { ...lavapipe, maxBindingBytes: 2 ** 20 }, g);
    expect(c.precision).toBe('fp16');
    expect(c.reason).toMatch(/exceeds the device's 1048576-byte storage binding limit/);
  });
  it('fp16 on an adapter without shader-f16 is a clear error', () => {
    expect(() => choosePrecision('fp16', noF16, g)).toThrow(/SwiftShader\) lacks the shader-f16 feature/);
  });
});

describe('kernelTarget', () => {
  it('gives the adapter class, its sorted features and, where limits are given, the storage buffers a shader may bind', () => {
    expect(kernelTarget(lavapipe, ['subgroups', 'shader-f16'], { maxStorageBuffersPerShaderStage: 16 })).toEqual({
      adapterClass: 'software', adapterFeatures: ['shader-f16', 'subgroups'], maxStorageBuffers: 16,
    });
    expect(kernelTarget(gpu, [])).toEqual({ adapterClass: 'gpu', adapterFeatures: [] });
  });
});
