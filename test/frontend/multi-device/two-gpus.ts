import { afterAll, beforeAll, beforeEach } from 'vitest';
import { webgpu } from '../../../src/frontend/torch/devices.js';
import { NoAdapterError, type GpuDevice } from '../../../src/runtime/device.js';

/**
 * Call inside a describe: kiln's devices webgpu:0 and webgpu:1 (two devices on the first adapter)
 * for the suite, acquired in beforeAll and shut down in afterAll. A file that splits work across
 * devices holds two, the least it needs. Without an adapter the tests are skipped, or fail when
 * KILN_REQUIRE_GPU=1.
 */
export function useTwoGpus(): () => readonly GpuDevice[] {
  let gpus: GpuDevice[] = [];
  beforeAll(async () => {
    webgpu.setDevicesPerAdapter(2);
    try {
      gpus = [await webgpu.device(0), await webgpu.device(1)];
    } catch (e) {
      if (!(e instanceof NoAdapterError) || !['', '0', undefined].includes(process.env['KILN_REQUIRE_GPU'])) throw e;
    }
  });
  beforeEach((ctx) => {
    if (gpus.length < 2) ctx.skip('no GPU');
  });
  afterAll(() => {
    webgpu.shutdown();
    webgpu.setDevicesPerAdapter(1);
  });
  return () => gpus;
}
