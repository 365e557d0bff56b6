import { afterAll, beforeAll, beforeEach } from 'vitest';
import { webgpu } from '../../src/frontend/torch/devices.js';
import { NoAdapterError, type AcquireDeviceOptions, type GpuDevice } from '../../src/runtime/device.js';

/**
 * Call inside a describe: kiln's default WebGPU device ('webgpu') for the suite, acquired in
 * beforeAll (with `opts` when given) and shut down in afterAll, so a file holds one device.
 * Without an adapter the tests are skipped, or fail when KILN_REQUIRE_GPU=1.
 */
export function useDefaultGpu(opts?: AcquireDeviceOptions): () => GpuDevice {
  let device: GpuDevice | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    try {
      device = opts ? await webgpu.useDevice(opts) : await webgpu.device();
    } catch (e) {
      const required = !['', '0', undefined].includes(process.env['KILN_REQUIRE_GPU']);
      if (!(e instanceof NoAdapterError) || required) throw e;
      skipReason = `no GPU: ${e.message}`;
    }
  });
  beforeEach((ctx) => {
    if (!device) ctx.skip(skipReason ?? 'no GPU device');
  });
  afterAll(() => {
    webgpu.shutdown();
    device = undefined;
  });
  return () => {
    if (!device) throw new Error('useDefaultGpu(): the device exists only inside the tests of its describe');
    return device;
  };
}
