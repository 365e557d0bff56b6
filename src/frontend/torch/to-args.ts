import { KilnError } from '../../ir/errors.js';
import type { DType } from '../../ir/types.js';
import { GpuDevice } from '../../runtime/device.js';
import { parseDevice, type DeviceLike } from './devices.js';
import { isDTypeName, parseDType, torchDTypeName, type DTypeLike } from './dtype.js';

// The arguments of `t.to()` (and `module.to()`) in PyTorch's forms, read once and checked loudly: a device, a dtype,
// a device then a dtype, or { device, dtype }. (A tensor argument is read by `to()` itself.)

/** Options of `t.to({ device, dtype, nonBlocking })`. */
export interface ToOptions {
  readonly device?: DeviceLike;
  readonly dtype?: DTypeLike;
  /** Return the moved tensor at once instead of a Promise (PyTorch's `non_blocking`). */
  readonly nonBlocking?: boolean;
}

/** The option that makes `to()` return a Tensor rather than a Promise. */
export interface NonBlocking {
  readonly nonBlocking: true;
}

/** Whether a `to()` argument asks for a non-blocking move. */
export function isNonBlocking(arg: unknown): boolean {
  return typeof arg === 'object' && arg !== null && !(arg instanceof GpuDevice) && (arg as ToOptions).nonBlocking === true;
}

/** The device and dtype `to()` was asked for, in any of its forms; anything else fails loudly. */
export function parseTo(target: DeviceLike | DTypeLike | ToOptions, second: DTypeLike | ToOptions | undefined): { device?: DeviceLike; dtype?: DType } {
  const forms = "to() takes a device ('cpu', 'webgpu', 'webgpu:1', a GpuDevice), a dtype ('float16', ...), " +
    "a device and a dtype (t.to('webgpu', 'float16')), { device, dtype }, or another tensor";
  let device: DeviceLike | undefined;
  let dtype: DType | undefined;
  if (typeof target === 'string') {
    if (isDTypeName(target)) dtype = parseDType(target);
    else device = parseDevice(target);
  } else if (target instanceof GpuDevice) {
    device = target;
  } else if (typeof target === 'object' && target !== null) {
    ({ device, dtype } = parseOptions(target, forms));
  } else {
    throw new KilnError(`${forms}; got ${String(target)}`);
  }
  if (second !== undefined) {
    if (dtype !== undefined && device === undefined) throw new KilnError(`${forms}: a second argument (the dtype) follows a device, as in t.to('webgpu', 'float16')`);
    const more = typeof second === 'string' ? { dtype: parseDType(second) } : typeof second === 'object' && second !== null ? parseOptions(second, forms) : undefined;
    if (!more || more.device !== undefined) throw new KilnError(`${forms}; the second argument is a dtype or { dtype, nonBlocking }, got ${typeof second === 'object' ? JSON.stringify(second) : String(second)}`);
    if (more.dtype !== undefined && dtype !== undefined && more.dtype !== dtype) throw new KilnError(`to(): two different dtypes given (${torchDTypeName(dtype)} and ${torchDTypeName(more.dtype)})`);
    dtype = more.dtype ?? dtype;
  }
  return { ...(device === undefined ? {} : { device }), ...(dtype === undefined ? {} : { dtype }) };
}

function parseOptions(o: object, forms: string): { device?: DeviceLike; dtype?: DType } {
  const extra = Object.keys(o).filter((k) => k !== 'device' && k !== 'dtype' && k !== 'nonBlocking');
  if (extra.length) throw new KilnError(`${forms}; unknown option(s) ${extra.join(', ')} (accepted: device, dtype, nonBlocking)`);
  const { device, dtype, nonBlocking } = o as ToOptions;
  if (nonBlocking !== undefined && typeof nonBlocking !== 'boolean') throw new KilnError(`${forms}; nonBlocking must be true or false, got ${JSON.stringify(nonBlocking)}`);
  return {
    ...(device === undefined ? {} : { device: typeof device === 'string' ? parseDevice(device) : device }),
    ...(dtype === undefined ? {} : { dtype: parseDType(dtype) }),
  };
}

/** The argument of `module.to()`: a device, a dtype, or { device, dtype }. */
export function parseModuleTo(target: DeviceLike | DTypeLike | ToOptions): { device?: DeviceLike; dtype?: DType } {
  if (typeof target === 'string') return isDTypeName(target) ? { dtype: parseDType(target) } : { device: target as DeviceLike };
  if (target instanceof GpuDevice) return { device: target };
  return {
    ...(target.device === undefined ? {} : { device: target.device }),
    ...(target.dtype === undefined ? {} : { dtype: parseDType(target.dtype) }),
  };
}
