import { KilnError } from '../../../ir/errors.js';
import { checkDeviceIndex, knownDeviceCount } from '../devices.js';
import { chunkSizes, normDim } from '../dims.js';
import { Module } from '../module.js';
import { replicaScope } from '../tensor-apply.js';
import { cat, type Tensor } from '../tensor.js';

/** A WebGPU device by index, or by name. */
export type GpuIndex = number | `webgpu:${number}`;

export interface DataParallelOptions {
  /** The devices to run on (default: every device index); the module lives on the first. */
  readonly deviceIds?: readonly GpuIndex[];
  /** Where the outputs are gathered (default: the first of `deviceIds`). */
  readonly outputDevice?: GpuIndex;
  /** The batch dimension the inputs are split along and the outputs joined along (default 0). */
  readonly dim?: number;
}

/**
 * Runs a module on several WebGPU devices at once, as `torch.nn.DataParallel`: each call splits
 * the inputs along `dim` into one chunk per device, copies the module's parameters and buffers from
 * the first device to the others (afresh at every call, so they follow the optimizer's updates),
 * runs the replicas concurrently (each device's work goes to its own queue), and joins the
 * outputs along `dim` on `outputDevice`. The copies are recorded moves, so `backward()` sums each
 * replica's gradient back into the parameters on the first device, which the optimizer updates.
 *
 *   const dp = new nn.DataParallel(model, { deviceIds: [0, 1] });   // model on webgpu:0
 *   const loss = kiln.mseLoss(dp.call(x), y);                       // y on webgpu:0
 *   await loss.backward(); opt.step();                              // opt over model.parameters()
 *
 * As in PyTorch, a batch that splits into fewer chunks than devices (5 rows on 4 devices: chunks
 * of 2) uses only as many devices as chunks; a batch smaller than the number of devices fails.
 */
export class DataParallel<M extends Module = Module> extends Module {
  readonly deviceIds: readonly number[];
  readonly outputDevice: number;
  readonly dim: number;

  constructor(readonly module: M, opts: DataParallelOptions = {}) {
    super();
    this.deviceIds = (opts.deviceIds ?? allDevices()).map((d) => indexOf(d, 'deviceIds'));
    if (this.deviceIds.length === 0) throw new KilnError('DataParallel: deviceIds is empty');
    if (new Set(this.deviceIds).size !== this.deviceIds.length) throw new KilnError(`DataParallel: deviceIds lists a device twice (${this.deviceIds.join(', ')})`);
    this.outputDevice = indexOf(opts.outputDevice ?? this.deviceIds[0]!, 'outputDevice');
    this.dim = opts.dim ?? 0;
    for (const d of [...this.deviceIds, this.outputDevice]) checkDeviceIndex(d, 'DataParallel');
  }

  forward(...inputs: Tensor[]): Tensor {
    if (inputs.length === 0) throw new KilnError('DataParallel: forward needs at least one input tensor');
    for (const d of [...this.deviceIds, this.outputDevice]) checkDeviceIndex(d, 'DataParallel');
    const primary = `webgpu:${this.deviceIds[0]!}`;
    const state = [...this.module.namedParameters(), ...this.module.namedBuffers()];
    const stray = state.find(([, t]) => t.device !== primary);
    if (stray) {
      throw new KilnError(`DataParallel: the module's parameters and buffers must be on ${primary} (deviceIds[0]), but '${stray[0]}' is on ${stray[1].device}; move the module there first (\`await model.to('${primary}')\`)`);
    }
    if (this.module.training && this.module.namedBuffers().length > 0) {
      throw new KilnError('DataParallel: training a module with buffers (BatchNorm running statistics) across devices is not supported; call eval() on it, or train it on one device');
    }
    const dim = normDim(this.dim, inputs[0]!.shape.length);
    const batch = inputs[0]!.shape[dim]!;
    if (batch < this.deviceIds.length) {
      throw new KilnError(`DataParallel: the batch (${batch} along dim ${dim}) is smaller than the number of devices (${this.deviceIds.length}: ${this.deviceIds.map((d) => `webgpu:${d}`).join(', ')}); give each device at least one sample, or use fewer deviceIds`);
    }
    for (const x of inputs) {
      if (x.shape[dim] !== batch) throw new KilnError(`DataParallel: every input must have the batch size ${batch} along dim ${dim}, got ${x.toString()}`);
    }
    const sizes = chunkSizes(batch, Math.ceil(batch / this.deviceIds.length));
    const devices = this.deviceIds.slice(0, sizes.length);
    let start = 0;
    const outputs = devices.map((device, r) => {
      const from = start;
      start += sizes[r]!;
      const pieces = inputs.map((x) => x.narrow(dim, from, sizes[r]!).to(`webgpu:${device}`, { nonBlocking: true }));
      const out = r === 0 ? (this.module as Module).call(...pieces) : withReplica(state.map(([, t]) => t), device, () => (this.module as Module).call(...pieces));
      return out.to(`webgpu:${this.outputDevice}`, { nonBlocking: true });
    });
    return outputs.length === 1 ? outputs[0]! : cat(outputs, dim);
  }
}

/** Runs `fn` with `state` replaced by copies on `device`, made by recorded moves (the gradients of parameters come back). */
function withReplica<T>(state: readonly Tensor[], device: number, fn: () => T): T {
  const copies = new Map(state.map((t) => [t, t.to(`webgpu:${device}`, { nonBlocking: true })] as const));
  const outer = replicaScope.current;
  replicaScope.current = copies;
  try {
    return fn();
  } finally {
    replicaScope.current = outer;
  }
}

function indexOf(d: GpuIndex, what: string): number {
  if (typeof d === 'number') return d;
  const m = /^webgpu:(0|[1-9]\d*)$/.exec(d);
  if (!m) throw new KilnError(`DataParallel: ${what} takes device indices (0, 1, ...) or 'webgpu:N', got '${String(d)}'`);
  return Number(m[1]);
}

function allDevices(): number[] {
  const count = knownDeviceCount();
  if (count === undefined) throw new KilnError('DataParallel: give deviceIds, or list the devices first (`await kiln.webgpu.deviceCount()`)');
  return Array.from({ length: count }, (_, i) => i);
}
