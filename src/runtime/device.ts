/// <reference types="@webgpu/types" preserve="true" />
import { create, globals } from 'webgpu';
import { KilnError } from '../ir/errors.js';
import { throttleDawnPolling } from './dawn-poll.js';
import type { AdapterInfo } from './adapter-info.js';

/** Dawn found no WebGPU adapter on this machine. */
export class NoAdapterError extends KilnError {
  override name = 'NoAdapterError';
  constructor(detail = '') {
    super(
      'no WebGPU adapter found' + (detail ? ` (${detail})` : '') +
      ': Dawn needs a Vulkan driver: your GPU\'s, or Mesa\'s software one, lavapipe 24 or newer ' +
      '(Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1; Debian 12 from bookworm-backports). ' +
      'See Troubleshooting in kiln\'s README',
    );
  }
}

/** The adapter lacks a WebGPU feature that was required. */
export class MissingFeatureError extends KilnError {
  override name = 'MissingFeatureError';
}

/** The device was lost (driver reset, out of memory, destroyed) and can no longer run anything. */
export class DeviceLostError extends KilnError {
  override name = 'DeviceLostError';
}

/** Features the runtime enables whenever the adapter offers them. */
const OPTIONAL_FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;

export interface AcquireDeviceOptions {
  /** Features the caller cannot do without; acquisition fails when the adapter lacks one. */
  readonly requiredFeatures?: readonly string[];
  /**
   * Features to enable when the adapter offers them (default: shader-f16, timestamp-query,
   * subgroups). `[]` gives a device with none, e.g. to see how a model fares without shader-f16.
   */
  readonly optionalFeatures?: readonly string[];
  readonly powerPreference?: GPUPowerPreference;
  /** Ask for Dawn's fallback (software) adapter, as listAdapters() reports for one it found that way. */
  readonly forceFallbackAdapter?: boolean;
}

export { isSoftware, type AdapterInfo } from './adapter-info.js';

/** Counts of GPU objects created through a device and of submits, across all its users. */
export interface DeviceCounters {
  buffers: number;
  bindGroups: number;
  bindGroupLayouts: number;
  pipelineLayouts: number;
  shaderModules: number;
  computePipelines: number;
  commandEncoders: number;
  submits: number;
}

// Dawn segfaults (InstanceBase::ProcessEvents, on a later mapAsync) if the GPU instance is
// garbage-collected while a device made from it lives. We hold it for the life of the process:
// one instance is cheap, and dropping it buys nothing.
let instance: GPU | undefined;

function gpuInstance(): GPU {
  if (!instance) {
    // dawn.node's GPUBufferUsage, GPUMapMode, ... are not globals until we put them there.
    Object.assign(globalThis, globals);
    instance = create([]);
    throttleDawnPolling();
  }
  return instance;
}

/** A WebGPU device with its adapter's description, its granted features and limits, and loss tracking. */
export class GpuDevice {
  /** The raw device, for code that encodes work itself. */
  readonly device: GPUDevice;
  readonly info: AdapterInfo;
  readonly features: ReadonlySet<string>;
  readonly limits: Readonly<Record<string, number>>;
  /** Objects created and submits made through `device` since acquisition (it is instrumented). */
  readonly counters: Readonly<DeviceCounters>;
  readonly adapter: GPUAdapter;
  // A strong reference: the instance must outlive the device (see `instance` above).
  private readonly gpu: GPU;
  private lostMessage: string | undefined;
  private destroyedByUs = false;
  private uncaptured = 0;
  private lastUncaptured = '';

  /** Use `acquireDevice()`. */
  constructor(gpu: GPU, adapter: GPUAdapter, device: GPUDevice) {
    this.gpu = gpu;
    this.adapter = adapter;
    this.device = device;
    this.info = adapterInfo(adapter);
    this.features = new Set(device.features);
    this.limits = readLimits(device.limits);
    this.counters = instrument(device);
    void device.lost.then((lost) => {
      if (this.destroyedByUs) return;
      this.lostMessage = `${lost.reason}: ${lost.message}`;
    });
    // Errors outside every error scope: a run made without one (ValidatedRun) learns of its own here.
    device.addEventListener('uncapturederror', (e) => {
      this.uncaptured++;
      this.lastUncaptured = (e as GPUUncapturedErrorEvent).error.message;
    });
  }

  /** How many errors no error scope caught (uncapturederror events), and the last one's message. */
  get uncapturedErrors(): { readonly count: number; readonly last: string } {
    return { count: this.uncaptured, last: this.lastUncaptured };
  }

  /** True once destroy() was called or the device was lost. */
  get isLost(): boolean {
    return this.destroyedByUs || this.lostMessage !== undefined;
  }

  /** Throws a DeviceLostError when the device can no longer be used; `what` says who asked. */
  assertUsable(what: string): void {
    if (this.destroyedByUs) throw new DeviceLostError(`${what}: the GPU device was destroyed`);
    if (this.lostMessage !== undefined) {
      throw new DeviceLostError(`${what}: the GPU device was lost (${this.lostMessage}); acquire a new device and reload the program`);
    }
  }

  /** One line for logs: `mesa llvmpipe (software) — llvmpipe: Mesa 25.0.7 [shader-f16, subgroups, timestamp-query]`. */
  describe(): string {
    const { vendor, device, architecture, description } = this.info;
    const name = [vendor, device].filter(Boolean).join(' ') || 'unknown adapter';
    const arch = architecture ? ` (${architecture})` : '';
    const desc = description ? ` — ${description}` : '';
    const feats = OPTIONAL_FEATURES.filter((f) => this.features.has(f));
    return `${name}${arch}${desc} [${feats.join(', ') || 'no optional features'}]`;
  }

  /** Frees the device and stops its Dawn polling thread. Idempotent. */
  destroy(): void {
    if (this.destroyedByUs) return;
    this.destroyedByUs = true;
    this.device.destroy();
  }
}

/** The adapter Dawn would use, or null when there is none; creates no device (no polling thread). */
export async function probeAdapter(): Promise<AdapterInfo | null> {
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpuInstance().requestAdapter();
  } catch {
    return null;
  }
  return adapter ? adapterInfo(adapter) : null;
}

/** An adapter as listAdapters describes it: who it is, its optional features, and its limits. */
export type ListedAdapter = AdapterInfo & {
  readonly features: readonly string[];
  /** The adapter's limits (what acquireDevice requests for a device on it). */
  readonly limits: Readonly<Record<string, number>>;
  /** What to pass to acquireDevice() for a device on this adapter. */
  readonly request: Pick<AcquireDeviceOptions, 'powerPreference' | 'forceFallbackAdapter'>;
};

/**
 * Every distinct adapter Dawn offers (default, low-power, high-performance, fallback), with the
 * optional features and the limits each has; the first is the default adapter, the one
 * acquireDevice() uses. Creates no device. Empty when there is none.
 */
export async function listAdapters(): Promise<ListedAdapter[]> {
  const gpu = gpuInstance();
  const asks: GPURequestAdapterOptions[] = [{}, { powerPreference: 'low-power' }, { powerPreference: 'high-performance' }, { forceFallbackAdapter: true }];
  const seen = new Map<string, ListedAdapter>();
  for (const ask of asks) {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter(ask);
    } catch {
      continue;
    }
    if (!adapter) continue;
    const info = adapterInfo(adapter);
    const key = JSON.stringify(info);
    if (!seen.has(key)) seen.set(key, { ...info, features: OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)), limits: readLimits(adapter.limits), request: ask });
  }
  return [...seen.values()];
}

/** Acquires a device with the adapter's real limits and every useful optional feature it offers. */
export async function acquireDevice(opts: AcquireDeviceOptions = {}): Promise<GpuDevice> {
  const gpu = gpuInstance();
  const adapterOpts: GPURequestAdapterOptions = {};
  if (opts.powerPreference) adapterOpts.powerPreference = opts.powerPreference;
  if (opts.forceFallbackAdapter) adapterOpts.forceFallbackAdapter = true;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(adapterOpts);
  } catch (e) {
    throw new NoAdapterError((e as Error).message);
  }
  if (!adapter) throw new NoAdapterError();

  const required = opts.requiredFeatures ?? [];
  const missing = required.filter((f) => !adapter.features.has(f));
  if (missing.length) {
    const offered = [...adapter.features].sort().join(', ');
    throw new MissingFeatureError(
      `the WebGPU adapter (${adapter.info?.description || adapter.info?.vendor || 'unknown'}) lacks required feature(s) ` +
      `${missing.join(', ')}; it offers: ${offered}`,
    );
  }
  const features = new Set<string>(required);
  for (const f of opts.optionalFeatures ?? OPTIONAL_FEATURES) if (adapter.features.has(f)) features.add(f);

  // Default limits are far below what adapters offer (8 storage buffers, 128 MiB bindings): ask for all.
  const device = await adapter.requestDevice({
    requiredFeatures: [...features] as GPUFeatureName[],
    requiredLimits: readLimits(adapter.limits),
    label: 'kiln',
  });
  return new GpuDevice(gpu, adapter, device);
}

function adapterInfo(adapter: GPUAdapter): AdapterInfo {
  const info = adapter.info;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

function readLimits(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // The limits are accessors on the prototype, so for..in (not Object.keys) sees them.
  for (const key in limits) {
    const v = (limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}

/**
 * Wraps the creating methods of this one device object (not the prototype) to count them, so a
 * test can prove that steady-state work creates nothing, whoever the caller is.
 */
function instrument(device: GPUDevice): DeviceCounters {
  const c: DeviceCounters = {
    buffers: 0, bindGroups: 0, bindGroupLayouts: 0, pipelineLayouts: 0,
    shaderModules: 0, computePipelines: 0, commandEncoders: 0, submits: 0,
  };
  const count = <K extends keyof GPUDevice>(obj: GPUDevice, method: K, counter: keyof DeviceCounters): void => {
    const original = obj[method] as unknown as (...args: unknown[]) => unknown;
    Object.defineProperty(obj, method, {
      configurable: true,
      writable: true,
      value: function (this: unknown, ...args: unknown[]) {
        c[counter]++;
        return original.apply(this, args);
      },
    });
  };
  count(device, 'createBuffer', 'buffers');
  count(device, 'createBindGroup', 'bindGroups');
  count(device, 'createBindGroupLayout', 'bindGroupLayouts');
  count(device, 'createPipelineLayout', 'pipelineLayouts');
  count(device, 'createShaderModule', 'shaderModules');
  count(device, 'createComputePipeline', 'computePipelines');
  count(device, 'createComputePipelineAsync', 'computePipelines');
  count(device, 'createCommandEncoder', 'commandEncoders');
  const queue = device.queue;
  const submit = queue.submit;
  Object.defineProperty(queue, 'submit', {
    configurable: true,
    writable: true,
    value: function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>) {
      c.submits++;
      return submit.call(this, buffers);
    },
  });
  return c;
}
