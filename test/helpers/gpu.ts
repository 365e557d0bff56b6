import { afterAll, beforeAll, beforeEach } from 'vitest';
import { acquireDevice, NoAdapterError, probeAdapter, type GpuDevice } from '../../src/runtime/device.js';

/** True when KILN_REQUIRE_GPU asks for a missing adapter to fail the run (CI sets it to 1). */
function gpuRequired(): boolean {
  const v = process.env['KILN_REQUIRE_GPU'];
  return v !== undefined && v !== '' && v !== '0';
}

/** Whether Dawn finds a WebGPU adapter here (creates no device). */
export async function hasGpu(): Promise<boolean> {
  return (await probeAdapter()) !== null;
}

/**
 * Call inside a describe: one device for the suite, acquired in beforeAll and destroyed in
 * afterAll. Returns a getter for use inside tests. Without an adapter the suite's tests are
 * skipped with the reason, or fail when KILN_REQUIRE_GPU=1.
 */
export function useGpu(): () => GpuDevice {
  let device: GpuDevice | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    try {
      device = await acquireDevice();
    } catch (e) {
      if (!(e instanceof NoAdapterError) || gpuRequired()) throw e;
      skipReason = `no GPU: ${e.message}`;
      console.warn(`[kiln tests] skipping GPU tests: ${e.message}`);
    }
  });
  beforeEach((ctx) => {
    if (!device) ctx.skip(skipReason ?? 'no GPU device');
  });
  afterAll(() => {
    // Dawn's polling thread runs until the device is destroyed; never leave one to the next file.
    device?.destroy();
    device = undefined;
  });
  return () => {
    if (!device) throw new Error('useGpu(): the device exists only inside tests of the describe that called useGpu()');
    return device;
  };
}
