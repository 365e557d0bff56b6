import { KilnError } from '../../ir/errors.js';
import type { DType } from '../../ir/types.js';
import { GpuDevice } from '../../runtime/device.js';
import { gpuName, parseDevice, type DeviceLike } from './devices.js';
import { isDTypeName, parseDType, torchDTypeName, type DTypeLike } from './dtype.js';

// The arguments of `t.to()` in PyTorch's forms, read once and checked loudly: a device, a dtype,
// a device then a dtype, or { device, dtype, nonBlocking }. (A tensor argument is read by `to()` itself.)

/** Options of `t.to({ device, dtype })` and `module.to({ device, dtype })`. */
export interface ToOptions {
  readonly device?: DeviceLike;
  readonly dtype?: DTypeLike;
}

/** Options of a tensor's `to()`: `nonBlocking` starts an upload and returns the tensor at once, as PyTorch's non_blocking. */
export interface TensorToOptions extends ToOptions {
  readonly nonBlocking?: boolean;
}

/** Options asking for a non-blocking move, which `to()` returns at once. */
export type NonBlocking = TensorToOptions & { readonly nonBlocking: true };

/** What `to()` was asked for. */
export interface ToRequest {
  readonly device?: DeviceLike;
  readonly dtype?: DType;
  readonly nonBlocking: boolean;
}

/** The device and dtype `to()` was asked for, in any of its forms; anything else fails loudly. */
export function parseTo(target: DeviceLike | DTypeLike | TensorToOptions, second: DTypeLike | TensorToOptions | undefined): ToRequest {
  const forms = "to() takes a device ('cpu', 'webgpu', 'webgpu:1', a GpuDevice), a dtype ('float16', ...), " +
    "a device and a dtype (t.to('webgpu', 'float16')), { device, dtype, nonBlocking } (also after a device), or another tensor";
  let device: DeviceLike | undefined;
  let dtype: DType | undefined;
  let nonBlocking = false;
  if (typeof target === 'string') {
    if (isDTypeName(target)) dtype = parseDType(target);
    else device = parseDevice(target);
  } else if (target instanceof GpuDevice) {
    device = target;
  } else if (typeof target === 'object' && target !== null) {
    ({ device, dtype, nonBlocking } = parseOptions(target, forms));
  } else {
    throw new KilnError(`${forms}; got ${String(target)}`);
  }
  if (second !== undefined) {
    if (dtype !== undefined && device === undefined) throw new KilnError(`${forms}: a second argument (the dtype) follows a device, as in t.to('webgpu', 'float16')`);
    const more: ToRequest | undefined = typeof second === 'string' ? { dtype: parseDType(second), nonBlocking: false } : typeof second === 'object' && second !== null ? parseOptions(second, forms) : undefined;
    if (!more || more.device !== undefined) throw new KilnError(`${forms}; the second argument is a dtype or { dtype, nonBlocking }, got ${typeof second === 'object' ? JSON.stringify(second) : String(second)}`);
    if (more.dtype !== undefined && dtype !== undefined && more.dtype !== dtype) throw new KilnError(`to(): two different dtypes given (${torchDTypeName(dtype)} and ${torchDTypeName(more.dtype)})`);
    dtype = more.dtype ?? dtype;
    nonBlocking ||= more.nonBlocking;
  }
  return { ...(device === undefined ? {} : { device }), ...(dtype === undefined ? {} : { dtype }), nonBlocking };
}

const OPTIONS = ['device', 'dtype', 'nonBlocking'];

/** Whether to()'s arguments ask for a non-blocking move (read before they are checked, which then throw at once). */
export function asksNonBlocking(target: unknown, second: unknown): boolean {
  return [target, second].some((o) => typeof o === 'object' && o !== null && !(o instanceof GpuDevice) && (o as TensorToOptions).nonBlocking === true);
}

function parseOptions(o: object, forms: string): ToRequest {
  const extra = Object.keys(o).filter((k) => !OPTIONS.includes(k));
  if (extra.length) throw new KilnError(`${forms}; unknown option(s) ${extra.join(', ')} (accepted: ${OPTIONS.join(', ')})`);
  const { device, dtype, nonBlocking } = o as TensorToOptions;
  if (nonBlocking !== undefined && typeof nonBlocking !== 'boolean') throw new KilnError(`to(): nonBlocking must be true or false, got ${String(nonBlocking)}`);
  return {
    ...(device === undefined ? {} : { device: typeof device === 'string' ? parseDevice(device) : device }),
    ...(dtype === undefined ? {} : { dtype: parseDType(dtype) }),
    nonBlocking: nonBlocking ?? false,
  };
}

/** Fails for `to(device)` inside a trace unless `device` is where the traced graph already is. */
export function refuseTraceMove(here: string, device: DeviceLike): void {
  const there = device instanceof GpuDevice ? gpuName(device) : device === 'webgpu' ? 'webgpu:0' : device;
  if (there !== here) {
    throw new KilnError(`to('${there}') inside trace(): a traced graph runs on one device (${here}); move the inputs or the model before tracing`);
  }
}
