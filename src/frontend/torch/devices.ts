import { KilnError } from '../../ir/errors.js';
import type { DType } from '../../ir/types.js';
import { acquireDevice, GpuDevice, listAdapters, MissingFeatureError, probeAdapter, type AcquireDeviceOptions } from '../../runtime/device.js';

// Devices as PyTorch users know them: 'cpu', and 'webgpu:N', the N-th WebGPU device, acquired
// on first use; 'webgpu' is 'webgpu:0', the default device. N maps to adapters in the order
// kiln.webgpu.devices() lists them, `devicesPerAdapter` indices each (1 unless set): with one
// adapter and 2 devices per adapter, webgpu:0 and webgpu:1 are two devices on it, each with its
// own queue. A device acquired by the caller and passed in takes the first free index.

/** Where a tensor should go: a device name, or a GPU device acquired by the caller. */
export type DeviceLike = 'cpu' | 'webgpu' | `webgpu:${number}` | GpuDevice;

/** Live GPU devices by index; a slot is reused once its device is destroyed or lost. */
const slots: (GpuDevice | undefined)[] = [];
/** Devices kiln acquired (or was given with setDevice), which shutdown() destroys. */
const owned = new Set<GpuDevice>();
/** Acquisitions in flight, by index, so concurrent first uses share one device. */
const acquiring = new Map<number, Promise<GpuDevice>>();
/** How many device indices each adapter has. */
let perAdapter = 1;
/** How many adapters there are, once listed. */
let adapterCount: number | undefined;

const live = (d: GpuDevice | undefined): d is GpuDevice => d !== undefined && !d.isLost;

/** The index of a GPU device among those kiln's tensors use (a new one takes the first free index). */
export function gpuIndex(gpu: GpuDevice): number {
  let i = slots.indexOf(gpu);
  if (i >= 0) return i;
  i = slots.findIndex((d) => !live(d));
  if (i < 0) i = slots.length;
  slots[i] = gpu;
  return i;
}

/** `webgpu:0`, as messages name devices. */
export function gpuName(gpu: GpuDevice): `webgpu:${number}` {
  return `webgpu:${gpuIndex(gpu)}`;
}

/** A device name checked: 'cpu', 'webgpu' or 'webgpu:N'; anything else fails, naming the accepted forms. */
export function parseDevice(name: string): Exclude<DeviceLike, GpuDevice> {
  if (name === 'cpu' || name === 'webgpu' || /^webgpu:(0|[1-9]\d*)$/.test(name)) return name as Exclude<DeviceLike, GpuDevice>;
  throw new KilnError(`unknown device '${name}' (devices: 'cpu', 'webgpu', 'webgpu:N')`);
}

/** The index a device name means ('webgpu' is 0). */
function indexOf(name: string): number {
  parseDevice(name);
  return name === 'webgpu' ? 0 : Number(name.slice('webgpu:'.length));
}

/** The default GPU device if it has been acquired and is usable (synchronous). */
export function currentGpu(): GpuDevice | undefined {
  return live(slots[0]) ? slots[0] : undefined;
}

/** The default GPU device (webgpu:0), acquired on first use (again after shutdown or loss). */
export function defaultGpu(): Promise<GpuDevice> {
  return gpuAt(0);
}

/** Device `index`, acquired on its adapter on first use; an index past deviceCount() fails. */
function gpuAt(index: number): Promise<GpuDevice> {
  const ready = slots[index];
  if (live(ready)) return Promise.resolve(ready);
  let pending = acquiring.get(index);
  if (!pending) {
    pending = (async () => {
      const adapters = await listAdapters();
      adapterCount = adapters.length;
      const count = adapters.length * perAdapter;
      if (index >= count) throw noSuchDevice(index, count);
      const d = await acquireDevice(adapters[Math.floor(index / perAdapter)]!.request);
      slots[index] = d;
      owned.add(d);
      return d;
    })().finally(() => acquiring.delete(index));
    acquiring.set(index, pending);
  }
  return pending;
}

function noSuchDevice(index: number, count: number): KilnError {
  return new KilnError(
    `there is no device webgpu:${index}: this machine has ${count} WebGPU device index(es) ` +
    `(${count / perAdapter} adapter(s), ${perAdapter} device(s) each; kiln.webgpu.setDevicesPerAdapter(n) gives an adapter more)`,
  );
}

/** The index a device name or GPU device has ('webgpu' is 0). */
export function deviceIndex(device: Exclude<DeviceLike, 'cpu'>): number {
  return device instanceof GpuDevice ? gpuIndex(device) : indexOf(device);
}

/** Device `index` if it is acquired and usable now (synchronous callers cannot wait for it). */
export function acquiredGpu(index: number): GpuDevice | undefined {
  const d = slots[index];
  return live(d) ? d : undefined;
}

/**
 * Starts acquiring device `index` for a synchronous caller that cannot wait (a tensor factory):
 * fails at once when the index is known not to exist, else any failure surfaces when the
 * device is awaited.
 */
export function acquireSoon(index: number): void {
  if (adapterCount !== undefined && index >= adapterCount * perAdapter) throw noSuchDevice(index, adapterCount * perAdapter);
  gpuAt(index).catch(() => undefined);
}

/**
 * Fails at once for a device index known not to exist (once the adapters have been listed, as
 * any device use does); `what` says who asked.
 */
export function checkDeviceIndex(index: number, what: string): void {
  if (!Number.isInteger(index) || index < 0) throw new KilnError(`${what}: a device index is a non-negative integer, got ${index}`);
  if (adapterCount !== undefined && index >= adapterCount * perAdapter) throw new KilnError(`${what}: ${noSuchDevice(index, adapterCount * perAdapter).message}`);
}

/** How many device indices there are, if the adapters have been listed (synchronous callers). */
export function knownDeviceCount(): number | undefined {
  return adapterCount === undefined ? undefined : adapterCount * perAdapter;
}

/** The GPU device a device name means, acquired on first use. */
export async function resolveGpu(device: Exclude<DeviceLike, 'cpu'>): Promise<GpuDevice> {
  if (device instanceof GpuDevice) return device;
  return gpuAt(indexOf(device));
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

/** `kiln.webgpu`: the WebGPU devices of kiln's eager tensors, like `torch.cuda`. */
export const webgpu = {
  /** Whether a WebGPU adapter is present (creates no device). */
  async isAvailable(): Promise<boolean> {
    return (await probeAdapter()) !== null;
  },

  /** How many device indices there are ('webgpu:0' to 'webgpu:<count - 1>'): adapters times devices per adapter. */
  async deviceCount(): Promise<number> {
    return (await listAdapters()).length * perAdapter;
  },

  /** The name of the adapter device `index` is on, like `torch.cuda.get_device_name(i)`. */
  async deviceName(index = 0): Promise<string> {
    const adapters = await this.devices();
    if (!Number.isInteger(index) || index < 0 || index >= adapters.length * perAdapter) throw noSuchDevice(index, adapters.length * perAdapter);
    return adapters[Math.floor(index / perAdapter)]!.name;
  },

  /**
   * Gives each adapter `n` device indices (default 1), e.g. two devices on a machine's one GPU
   * (or on a software adapter) to run a model split across 'webgpu:0' and 'webgpu:1'.
   */
  setDevicesPerAdapter(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new KilnError(`setDevicesPerAdapter: n must be a positive integer, got ${n}`);
    perAdapter = n;
  },

  /** The adapters Dawn offers, by name, in the order device indices use them. */
  async devices(): Promise<WebGpuAdapter[]> {
    return (await listAdapters()).map((a) => ({
      name: [a.vendor, a.device].filter(Boolean).join(' ') || a.description || 'unknown adapter',
      vendor: a.vendor, architecture: a.architecture, description: a.description, features: a.features,
    }));
  },

  /** Device `index` (default 0, the default device `'webgpu'`), acquired once on first use. */
  device(index = 0): Promise<GpuDevice> {
    if (!Number.isInteger(index) || index < 0) return Promise.reject(new KilnError(`kiln.webgpu.device: the index must be a non-negative integer, got ${index}`));
    return gpuAt(index);
  },

  /**
   * Makes `gpu` the default device, webgpu:0 (e.g. one acquired with options, such as without
   * optional features); `kiln.webgpu.shutdown()` destroys it.
   */
  setDevice(gpu: GpuDevice): void {
    if (gpu.isLost) throw new KilnError('setDevice: that GPU device is destroyed or lost');
    const was = slots.indexOf(gpu);
    if (was > 0) slots[was] = undefined;
    slots[0] = gpu;
    owned.add(gpu);
  },

  /** Acquires a device with options and makes it the default. */
  async useDevice(opts: AcquireDeviceOptions): Promise<GpuDevice> {
    const d = await acquireDevice(opts);
    this.setDevice(d);
    return d;
  },

  /**
   * Destroys the devices kiln acquired (tensors on them become unusable) so a script or test can
   * exit: Dawn keeps a thread busy while a device lives. The next use acquires new ones.
   */
  shutdown(): void {
    for (const d of owned) d.destroy();
    owned.clear();
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
