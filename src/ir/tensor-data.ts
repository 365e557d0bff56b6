import { allocTyped, DTYPES, isDType, numel, type DType, type Shape, type TypedArray } from './types.js';
import { KilnError } from './errors.js';

/** A tensor's contents on the host: constants, weights, inputs and outputs. */
export interface TensorData {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: TypedArray;
}

/** Wraps host values as a TensorData, converting numbers to the storage of `dtype`. */
export function tensorData(dtype: DType, shape: Shape, values: ArrayLike<number> | TypedArray): TensorData {
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
