import { allocTyped, numel, type DType, type Shape, type TypedArray } from './types.js';
import { KilnError } from './errors.js';

/** A tensor's contents on the host: constants, weights, inputs and outputs. */
export interface TensorData {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: TypedArray;
}

/** Wraps host values as a TensorData, converting numbers to the storage of `dtype`. */
export function tensorData(dtype: DType, shape: Shape, values: ArrayLike<number> | TypedArray): TensorData {
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

/**
 * Constants computed at compile or import time stay below this many elements; a larger result
 * (an Expand of a constant to 40000x40000) is left to run on the device, not the host's memory.
 */
export const MAX_FOLDED_ELEMENTS = 1 << 24;
