// Dawn's polls sleep between calls (dawn-poll.ts): native callbacks queued with setImmediate are
// delayed in Atomics.wait, JavaScript's own are not, and GPU waits still finish.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isNativeFunction } from '../../src/runtime/dawn-poll.js';
import { useGpu } from '../helpers/gpu.js';

describe('throttled Dawn polling', () => {
  const gpu = useGpu();
  afterEach(() => vi.restoreAllMocks());

  it('delays native callbacks only: Dawn\'s poll is one, JavaScript\'s own are not', async () => {
    gpu();
    expect(isNativeFunction(() => 0)).toBe(false);
    expect(isNativeFunction(async function poll() {})).toBe(false);
    expect(isNativeFunction((() => 0).bind(null))).toBe(true);
    expect(isNativeFunction(Math.max)).toBe(true);
    expect(isNativeFunction('x')).toBe(false);
    const wait = vi.spyOn(Atomics, 'wait');
    // Native callbacks queued one after another for 2 ms: one wait, whose first 0.25 ms spins.
    const t0 = performance.now();
    let ran = 0;
    while (performance.now() - t0 < 2) await new Promise<void>((resolve) => setImmediate((() => { ran++; resolve(); }).bind(null)));
    expect(ran).toBeGreaterThan(1);
    expect(wait).toHaveBeenCalled();
    expect(wait.mock.calls.every((c) => (c[3] ?? 0) > 0)).toBe(true);
  });

  it("keeps setImmediate's promisified form", async () => {
    gpu();
    const { promisify } = await import('node:util');
    await expect(promisify(setImmediate)('done')).resolves.toBe('done');
  });

  it('polls by sleeping while a GPU wait is pending, and the wait finishes', async () => {
    const device = gpu().device;
    // Work that keeps the GPU busy for milliseconds, well past the wait's first 0.25 ms.
    const code = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var a = f32(g.x);
  for (var i = 0u; i < 20000u; i++) { a = a * 0.999 + 1.0; }
  out[g.x] = a;
}`;
    const out = device.createBuffer({ size: 4 * 4096, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const read = device.createBuffer({ size: 4 * 4096, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
    pass.dispatchWorkgroups(64);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, read, 0, 4 * 4096);
    device.queue.submit([encoder.finish()]);
    const wait = vi.spyOn(Atomics, 'wait');
    await read.mapAsync(GPUMapMode.READ);
    // 1, then 1 * 0.999 + 1, ...: the GPU's result arrived, whatever the polls did meanwhile.
    expect(new Float32Array(read.getMappedRange())[1]).toBeCloseTo(1000, 0);
    read.destroy();
    out.destroy();
    expect(wait).toHaveBeenCalled();
  });
});
