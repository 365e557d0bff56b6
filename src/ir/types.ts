import { dimText, dMul, isSymbolic, type Dim } from './size-expr.js';

/**
 * Element types a tensor can hold. ONNX int64 is lowered to i32 at import. `string` (ONNX's
 * string tensors) lives on the host only: no WebGPU kernel reads or writes one (see tensor-data.ts).
 */
export type DType = 'f32' | 'f16' | 'i32' | 'u32' | 'bool' | 'string';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'i32', 'u32', 'bool', 'string'];

/** Static shape: one non-negative extent per dimension; [] is a scalar. */
export type Shape = readonly number[];

/**
 * Where a tensor lives: the host, or a WebGPU device by index. `webgpu` is device 0 (a graph on
 * one GPU says only that); `webgpu:N` (N >= 1) is the N-th device of a model split across several.
 */
export type Device = 'webgpu' | 'cpu' | `webgpu:${number}`;
/** The device names as messages list them. */
export const DEVICES: readonly string[] = ['webgpu', 'webgpu:N', 'cpu'];

/** The full type of an SSA value. */
export interface TensorType {
  readonly dtype: DType;
  /** Extents; where `dims` is present, each one's largest value (what buffers are sized for). */
  readonly shape: Shape;
  readonly device: Device;
  /**
   * The extents as sizes known when the model runs (`N`, `floor((W+1)/2)`), present only when
   * some dimension is symbolic: kernels of such a value read its sizes from uniforms.
   */
  readonly dims?: readonly Dim[];
}

/**
 * Host storage for tensor data of each dtype (bool is one byte per element, f16 its raw bits; a
 * string tensor holds a JS string[] here, see tensor-data.ts).
 */
export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

/** Whether `s` is a device as the IR writes it ('webgpu:0' is written 'webgpu'). */
export function isDevice(s: string): s is Device {
  return s === 'cpu' || s === 'webgpu' || /^webgpu:[1-9]\d*$/.test(s);
}

/** Whether `d` is a WebGPU device (of any index). */
export function isGpu(d: Device): d is Exclude<Device, 'cpu'> {
  return d !== 'cpu';
}

/** The index of WebGPU device `d` ('webgpu' is 0). */
export function gpuIndexOf(d: Exclude<Device, 'cpu'>): number {
  return d === 'webgpu' ? 0 : Number(d.slice('webgpu:'.length));
}

/** The IR's name of WebGPU device `index` ('webgpu' for 0). */
export function gpuDevice(index: number): Exclude<Device, 'cpu'> {
  return index === 0 ? 'webgpu' : `webgpu:${index}`;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16';
}

/** Number of elements of a shape. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes per element as stored on a host or in a device buffer. */
export function dtypeBytes(dtype: DType): number {
  switch (dtype) {
    case 'f16': return 2;
    case 'bool': return 1;
    default: return 4;
  }
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function typesEqual(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && a.device === b.device && shapesEqual(a.shape, b.shape) && dimsTextOf(a) === dimsTextOf(b);
}

/** A type's extents: its symbolic dims where it has them, else its static shape. */
export function dimsOf(t: { readonly shape: Shape; readonly dims?: readonly Dim[] }): readonly Dim[] {
  return t.dims ?? t.shape;
}

/** Whether some extent of the type is known only when the model runs. */
export function isDynamic(t: { readonly dims?: readonly Dim[] }): boolean {
  return t.dims !== undefined && t.dims.some(isSymbolic);
}

/** Extents as IR text writes them: a size name bare, a compound size expression quoted. */
function dimsTextOf(t: TensorType): string {
  return dimsOf(t).map((d) => (typeof d === 'number' || /^[A-Za-z_][A-Za-z0-9_]*$/.test(d.text) ? dimText(d) : JSON.stringify(d.text))).join(',');
}

/** Row-major strides of a shape, in elements (symbolic where the extents are). */
export function stridesOf(shape: Shape): number[];
export function stridesOf(shape: readonly Dim[]): Dim[];
export function stridesOf(shape: readonly Dim[]): Dim[] {
  const strides = new Array<Dim>(shape.length);
  let s: Dim = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s = typeof s === 'number' && typeof shape[i] === 'number' ? s * (shape[i] as number) : dMul(s, shape[i]!);
  }
  return strides;
}

/** `f32[8,784]` */
export function formatShapeType(dtype: DType, shape: Shape): string {
  return `${dtype}[${shape.join(',')}]`;
}

/** `f32[8,784] @webgpu`, `f32[N,3,48,W] @webgpu` */
export function formatType(t: TensorType): string {
  return `${t.dtype}[${dimsTextOf(t)}] @${t.device}`;
}

/** A fresh host array able to hold `n` elements of `dtype` (a string tensor's: `n` empty strings). */
export function allocTyped(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'string': return new Array<string>(n).fill('') as unknown as TypedArray;
    case 'f32': return new Float32Array(n);
    case 'f16': return new Uint16Array(n);
    case 'i32': return new Int32Array(n);
    case 'u32': return new Uint32Array(n);
    case 'bool': return new Uint8Array(n);
  }
}
