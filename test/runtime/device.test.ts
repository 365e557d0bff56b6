import { describe, expect, it } from 'vitest';
import { DeviceLostError, MissingFeatureError, NoAdapterError, acquireDevice } from '../../src/runtime/device.js';
import { PROGRAM_VERSION, type Program } from '../../src/runtime/program.js';
import { Session } from '../../src/runtime/session.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { KilnError } from '../../src/ir/errors.js';
import { hasGpu, useGpu } from '../helpers/gpu.js';

const FILL_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(4)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < 4u) { y[gid.x] = x[gid.x] * 3.0; }
}
`;

const triple: Program = {
  version: PROGRAM_VERSION, name: 'triple', weights: new Uint8Array(0), requiredFeatures: [],
  inputs: [{ name: 'x', dtype: 'f32', shape: [4], buffer: 0 }],
  outputs: [{ name: 'y', dtype: 'f32', shape: [4], buffer: 1 }],
  buffers: [{ id: 0, bytes: 16, role: 'input' }, { id: 1, bytes: 16, role: 'output' }],
  kernels: [{ name: 'triple', wgsl: FILL_WGSL, entryPoint: 'main' }],
  dispatches: [{ kernel: 0, label: 'triple(x)', buffers: [0, 1], workgroups: [1, 1, 1] }],
};

describe('NoAdapterError', () => {
  it('tells the user how to get an adapter', () => {
    const e = new NoAdapterError();
    expect(e).toBeInstanceOf(KilnError);
    expect(e.message).toContain('mesa-vulkan-drivers');
    expect(e.message).not.toContain('npm run');
    expect(e.message).toContain('lavapipe');
    expect(e.message).toContain('Vulkan driver');
  });
});

describe('GpuDevice', () => {
  const gpu = useGpu();

  it('describes its adapter on one line', async () => {
    const d = gpu();
    expect(await hasGpu()).toBe(true);
    const line = d.describe();
    expect(line).not.toContain('\n');
    if (d.info.vendor) expect(line).toContain(d.info.vendor);
    if (d.info.description) expect(line).toContain(d.info.description);
  });

  it('has every limit the adapter offers, not the WebGPU defaults', () => {
    const d = gpu();
    const adapterLimits = d.adapter.limits as unknown as Record<string, number>;
    for (const key in adapterLimits) {
      if (typeof adapterLimits[key] === 'number') expect([key, d.limits[key]]).toEqual([key, adapterLimits[key]]);
    }
    expect(d.limits['maxStorageBuffersPerShaderStage']).toBeGreaterThanOrEqual(8);
  });

  it('enables the optional features the adapter has', () => {
    const d = gpu();
    for (const f of ['shader-f16', 'timestamp-query', 'subgroups']) {
      expect([f, d.features.has(f)]).toEqual([f, d.adapter.features.has(f)]);
    }
  });

  it('fails clearly when a required feature is missing, before creating a device', async () => {
    await expect(acquireDevice({ requiredFeatures: ['kiln-imaginary-feature'] })).rejects.toThrow(MissingFeatureError);
    await expect(acquireDevice({ requiredFeatures: ['kiln-imaginary-feature'] })).rejects.toThrow(/lacks required feature\(s\) kiln-imaginary-feature; it offers: /);
  });

  // Last: it loses the suite's device on purpose.
  it('turns a lost device into a DeviceLostError on later use', async () => {
    const d = gpu();
    const session = await Session.create(d, triple);
    const x = tensorData('f32', [4], [1, 2, 3, 4]);
    expect(Array.from((await session.run({ x }))['y']!.data)).toEqual([3, 6, 9, 12]);
    // Destroying the raw device behind GpuDevice's back looks like a loss we did not cause.
    d.device.destroy();
    await d.device.lost;
    expect(d.isLost).toBe(true);
    await expect(session.run({ x })).rejects.toThrow(DeviceLostError);
    await expect(session.run({ x })).rejects.toThrow(/the GPU device was lost \(destroyed: .*\); acquire a new device and reload the program/);
    await expect(Session.create(d, triple)).rejects.toThrow(DeviceLostError);
    session.destroy();
  });
});
