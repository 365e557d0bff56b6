import { KilnError } from '../../ir/errors.js';
import type { DType } from '../../ir/types.js';
import { acquireDevice, GpuDevice, listAdapters, MissingFeatureError, probeAdapter, type AcquireDeviceOptions } from '../../runtime/device.js';

// Devices as PyTorch users know them: 'cpu', and 'webgpu' (the default WebGPU device, acquired
// once on first use) or 'webgpu:N'. Indices number the GPU devices kiln's tensors live on.

/** Where a tensor should go: a device name, or a GPU device acquired by the caller. */
export type DeviceLike = 'cpu' | 'webgpu' | `webgpu:${number}` | GpuDevice;

/** Live GPU devices by index; a slot is reused once its device is destroyed or lost. */
const slots: (GpuDevice | undefined)[] = [];

/** The index of a GPU device among those kiln's tensors use (the first one is 0). */
export function gpuIndex(gpu: GpuDevice): number {
  let i = slots.indexOf(gpu);
  if (i >= 0) return i;
  i = slots.findIndex((d) => !d || d.isLost);
  if (i < 0) i = slots.length;
  slots[i] = gpu;
  return i;
}

/** `webgpu:0`, as messages name devices. */
export function gpuName(gpu: GpuDevice): string {
  return `webgpu:${gpuIndex(gpu)}`;
}

let current: GpuDevice | undefined;
let acquiring: Promise<GpuDevice> | undefined;

/** The default GPU device if it has been acquired and is usable (synchronous). */
export function currentGpu(): GpuDevice | undefined {
  return current && !current.isLost ? current : undefined;
}

/** The default GPU device, acquired on first use (again after shutdown or loss). */
export function defaultGpu(): Promise<GpuDevice> {
  const ready = currentGpu();
  if (ready) return Promise.resolve(ready);
  acquiring ??= acquireDevice().then(
    (d) => {
      current = d;
      gpuIndex(d);
      acquiring = undefined;
      return d;
    },
    (e: unknown) => {
      acquiring = undefined;
      throw e;
    },
  );
  return acquiring;
}

/**
 * The GPU device a device name means, without waiting: `webgpu` is the default device, which
 * must have been acquired already (synchronous callers cannot wait for it).
 */
export function resolveGpuSync(device: Exclude<DeviceLike, 'cpu'>, what: string): GpuDevice {
  if (device instanceof GpuDevice) return device;
  if (device === 'webgpu') {
    const d = currentGpu();
    if (d) return d;
    throw new KilnError(
      `${what} needs the WebGPU device, which is not acquired yet: call \`await kiln.webgpu.device()\` once first, ` +
      `or create the tensor on the CPU and move it with \`await t.to('webgpu')\``,
    );
  }
  return byIndex(device);
}

/** The GPU device a device name means, acquiring the default device when needed. */
export async function resolveGpu(device: Exclude<DeviceLike, 'cpu'>): Promise<GpuDevice> {
  if (device instanceof GpuDevice) return device;
  if (device === 'webgpu') return defaultGpu();
  return byIndex(device);
}

function byIndex(name: string): GpuDevice {
  const m = /^webgpu:(\d+)$/.exec(name);
  if (!m) throw new KilnError(`unknown device '${name}' (devices: 'cpu', 'webgpu', 'webgpu:N')`);
  const d = slots[Number(m[1])];
  if (d && !d.isLost) return d;
  if (Number(m[1]) === 0 && !slots.some((s) => s && !s.isLost)) {
    throw new KilnError(`${name} is not acquired yet: use 'webgpu' (the default device, acquired on first use) or await kiln.webgpu.device() first`);
  }
  throw new KilnError(`there is no device ${name} (live devices: ${liveNames().join(', ') || 'none'})`);
}

function liveNames(): string[] {
  return slots.flatMap((d, i) => (d && !d.isLost ? [`webgpu:${i}`] : []));
}

/** One WebGPU adapter, as `kiln.webgpu.devices()` lists them. */
export interface WebGpuAdapter {
  /** A readable name: vendor and device, or the driver's description. */
  readonly name: string;
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** Optional features it offers (shader-f16, subgroups, timestamp-query). */
  readonly features: readonly string[];
}

/** `kiln.webgpu`: the WebGPU device of kiln's eager tensors, like `torch.cuda`. */
export const webgpu = {
  /** Whether a WebGPU adapter is present (creates no device). */
  async isAvailable(): Promise<boolean> {
    return (await probeAdapter()) !== null;
  },

  /** The adapters Dawn offers, by name. */
  async devices(): Promise<WebGpuAdapter[]> {
    return (await listAdapters()).map((a) => ({
      name: [a.vendor, a.device].filter(Boolean).join(' ') || a.description || 'unknown adapter',
      vendor: a.vendor, architecture: a.architecture, description: a.description, features: a.features,
    }));
  },

  /** The default device (`'webgpu'`), acquired once on first use. */
  device(): Promise<GpuDevice> {
    return defaultGpu();
  },

  /**
   * Makes `gpu` the default device (e.g. one acquired with options, such as without optional
   * features); `kiln.webgpu.shutdown()` destroys it.
   */
  setDevice(gpu: GpuDevice): void {
    if (gpu.isLost) throw new KilnError('setDevice: that GPU device is destroyed or lost');
    current = gpu;
    gpuIndex(gpu);
  },

  /** Acquires a device with options and makes it the default. */
  async useDevice(opts: AcquireDeviceOptions): Promise<GpuDevice> {
    const d = await acquireDevice(opts);
    this.setDevice(d);
    return d;
  },

  /**
   * Destroys the default device (tensors on it become unusable) so a script or test can exit:
   * Dawn keeps a thread busy while a device lives. The next use acquires a new one.
   */
  shutdown(): void {
    current?.destroy();
    current = undefined;
  },
};

/** Throws a MissingFeatureError when `gpu` cannot hold tensors of `dtype` (f16 needs shader-f16). */
export function requireDTypeOn(gpu: GpuDevice, dtype: DType, what: string): void {
  if (dtype === 'f16' && !gpu.features.has('shader-f16')) {
    throw new MissingFeatureError(
      `${what}: float16 tensors need the WebGPU feature 'shader-f16', which this device (${gpu.describe()}) lacks; ` +
      'keep the model in float32 on this device',
    );
  }
}
