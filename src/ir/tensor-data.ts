import { allocTyped, DTYPES, isDType, numel, type DType, type Shape, type TypedArray } from './types.js';
import { KilnError } from './errors.js';

/**
 * A tensor's contents on the host: constants, weights, inputs and outputs.
 *
 * A `string` tensor's `data` is a JS string[] (one UTF-16 string per element), typed as the
 * numeric arrays are so that the element-copying kernels (reshape, transpose, concat, slice)
 * carry strings as they carry numbers. Only ops that declare `strings` in their
 * definition are given string operands (OpDef.infer refuses the others), and placement keeps
 * every string value on the host; read and build string tensors with stringsOf and stringTensor.
 */
export interface TensorData {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: TypedArray;
}

/** The elements of a string tensor. */
export function stringsOf(t: TensorData): string[] {
  if (t.dtype !== 'string') throw new KilnError(`expected a string tensor, got ${t.dtype}[${t.shape.join(',')}]`);
  return t.data as unknown as string[];
}

/** A string tensor of `shape` holding `values` (row-major). */
export function stringTensor(shape: Shape, values: readonly string[]): TensorData {
  if (values.length !== numel(shape)) throw new KilnError(`tensor data has ${values.length} values but string[${shape.join(',')}] needs ${numel(shape)}`);
  if (values.some((s) => typeof s !== 'string')) throw new KilnError('string tensor data must be JS strings');
  return { dtype: 'string', shape: [...shape], data: [...values] as unknown as TypedArray };
}

/** Wraps host values as a TensorData, converting numbers to the storage of `dtype`. */
export function tensorData(dtype: DType, shape: Shape, values: ArrayLike<number> | TypedArray | readonly string[]): TensorData {
  if (!isDType(dtype)) {
    // E.g. ONNX Runtime's 'float32' (kiln/runtime's Tensor takes those names).
    throw new KilnError(`tensorData: unknown dtype '${String(dtype)}'; kiln's dtypes are ${DTYPES.join(', ')} (for ONNX Runtime's names, use new Tensor('float32', data, dims) from kiln/runtime)`);
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new KilnError(`tensorData: the shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new KilnError(`tensorData: the values must be an array or a typed array, got ${values === null ? 'null' : typeof values}`);
  }
  if (dtype === 'string') return stringTensor(shape, values as readonly string[]);
  const n = numel(shape);
  if (values.length !== n) {
    throw new KilnError(`tensor data has ${values.length} values but ${dtype}[${shape.join(',')}] needs ${n}`);
  }
  if (dtype === 'f16') {
    if (values instanceof Uint16Array) return { dtype, shape: [...shape], data: values };
    throw new KilnError('f16 tensor data must be given as raw bits in a Uint16Array');
  }
  const data = allocTyped(dtype, n);
  if (dtype === 'bool') for (let i = 0; i < n; i++) data[i] = values[i] ? 1 : 0;
  else data.set(values as ArrayLike<number>);
  return { dtype, shape: [...shape], data };
}

/** True when the value is a TensorData (attributes may hold one). */
export function isTensorData(v: unknown): v is TensorData {
  return typeof v === 'object' && v !== null && 'data' in v && 'dtype' in v && 'shape' in v;
}

/** A 2-D tensor transposed (any element type: the storage is moved as is). */
export function transposed2d(t: TensorData): TensorData {
  const [r, c] = t.shape as [number, number];
  const out = new (t.data.constructor as new (n: number) => typeof t.data)(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return tensorData(t.dtype, [c, r], out);
}

/**
 * Constants computed at compile or import time stay below this many elements; a larger result
 * (an Expand of a constant to 40000x40000) is left to run on the device, not the host's memory.
 */
export const MAX_FOLDED_ELEMENTS = 1 << 24;
