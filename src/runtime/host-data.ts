import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { allocTyped, numel, type DType, type Shape, type TypedArray } from '../ir/types.js';
import { deviceBufferBytes } from './program.js';

/** The host array class that holds each dtype (bool: one byte per element; f16: raw bits). */
const HOST_ARRAY: Record<Exclude<DType, 'string'>, new (n: number) => TypedArray> = {
  f32: Float32Array,
  f16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  bool: Uint8Array,
};

/** String tensors are computed by CPU segments; a WebGPU buffer never holds one. */
const HOST_ONLY = 'string tensors live on the host (CPU segments) only: no WebGPU buffer holds one';

/** Why `t.data` cannot hold a `t.dtype` tensor of `t.shape`, or undefined when it can. */
export function hostDataProblem(t: TensorData): string | undefined {
  if (t.dtype === 'string') {
    const ok = Array.isArray(t.data) && (t.data as unknown[]).every((s) => typeof s === 'string');
    if (!ok) return 'string data must be an array of JS strings';
    return t.data.length === numel(t.shape) ? undefined : `shape [${t.shape.join(',')}] has ${numel(t.shape)} elements but the data has ${t.data.length}`;
  }
  const want = HOST_ARRAY[t.dtype];
  if (!want) return `unknown dtype '${String(t.dtype)}'`;
  if (!(t.data instanceof want)) {
    return `${t.dtype} data must be a ${want.name}, got ${t.data?.constructor?.name ?? typeof t.data}`;
  }
  const n = numel(t.shape);
  if (t.data.length !== n) return `shape [${t.shape.join(',')}] has ${n} elements but the data has ${t.data.length}`;
  return undefined;
}

/**
 * The bytes of host tensor `t` as a device buffer holds them: bool widened to u32, length padded
 * to a multiple of 4 (writeBuffer requires it). Returns a view of `t.data` itself when it already
 * fits, even over a SharedArrayBuffer: for copies made in JavaScript (into a mapped buffer).
 */
export function deviceBytes(t: TensorData): Uint8Array {
  if (t.dtype === 'string') throw new KilnError(HOST_ONLY);
  const n = numel(t.shape);
  if (t.dtype === 'bool') {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = t.data[i] ? 1 : 0;
    return new Uint8Array(out.buffer);
  }
  const bytes = deviceBufferBytes(t.dtype, n);
  const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (src.byteLength === bytes) return src;
  const out = new Uint8Array(bytes);
  out.set(src);
  return out;
}

/**
 * The bytes to pass to queue.writeBuffer for host tensor `t` (see deviceBytes). dawn.node crashes
 * on views over a SharedArrayBuffer (a batch a DataLoader worker made), so those are staged
 * through a copy in ordinary memory.
 */
export function toDeviceBytes(t: TensorData): ArrayBufferView {
  const bytes = deviceBytes(t);
  const shared = typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;
  return shared ? bytes.slice() : bytes;
}

/**
 * A copy of device bytes `src` (as stored by the runtime: bool as u32) as host tensor data, in
 * `into` when given (a host array of the dtype and element count: see hostDataProblem).
 */
export function fromDeviceBytes(dtype: DType, shape: Shape, src: Uint8Array, into?: TypedArray): TensorData {
  if (dtype === 'string') throw new KilnError(HOST_ONLY);
  const n = numel(shape);
  const need = deviceBufferBytes(dtype, n);
  if (src.byteLength < need) {
    throw new KilnError(`internal: ${dtype}[${shape.join(',')}] needs ${need} device bytes, got ${src.byteLength}`);
  }
  const data = into ?? allocTyped(dtype, n);
  if (dtype === 'bool') {
    // A DataView reads the words whatever the view's byte offset (a Uint32Array needs it 4-aligned).
    const view = new DataView(src.buffer, src.byteOffset, n * 4);
    for (let i = 0; i < n; i++) data[i] = view.getUint32(i * 4, true) !== 0 ? 1 : 0;
  } else {
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(src.subarray(0, data.byteLength));
  }
  return { dtype, shape: [...shape], data };
}

/** Snapshot of a tensor's bytes, for when the caller may change its array before we read it. */
export function copyBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}
