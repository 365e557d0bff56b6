import { KilnError } from '../../ir/errors.js';
import { isTensorData, type TensorData } from '../../ir/tensor-data.js';
import { allocTyped, type DType, type Shape, type TypedArray } from '../../ir/types.js';
import { stack, Tensor } from '../torch/tensor.js';

// Turning a list of samples into a batch, as torch.utils.data's default_collate: tensors (and
// host arrays) are stacked along a new first dimension, numbers become a tensor, and arrays and
// plain objects are collated position by position, key by key.

/** The batch the default collate makes of samples of type T. */
export type Collated<T> =
  T extends Tensor | TensorData | ArrayBufferView | number | boolean | bigint ? Tensor
  : T extends string ? string[]
  : T extends readonly unknown[] ? { -readonly [K in keyof T]: Collated<T[K]> }
  : T extends object ? { -readonly [K in keyof T]: Collated<T[K]> }
  : never;

/**
 * The dtype a typed array's elements collate to. kiln's tensors have no 64-bit or 8/16-bit types:
 * floats become f32 (as JavaScript numbers do), small integers widen exactly to i32.
 */
const TYPED_ARRAY_DTYPES: readonly [new (n: number) => ArrayLike<number>, DType][] = [
  [Float32Array, 'f32'], [Float64Array, 'f32'],
  [Int32Array, 'i32'], [Int16Array, 'i32'], [Int8Array, 'i32'], [Uint16Array, 'i32'], [Uint8Array, 'i32'], [Uint8ClampedArray, 'i32'],
  [Uint32Array, 'u32'],
];

type Kind = 'tensor' | 'tensorData' | 'typedArray' | 'number' | 'boolean' | 'bigint' | 'string' | 'array' | 'object';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function kindOf(v: unknown): Kind | undefined {
  if (v instanceof Tensor) return 'tensor';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || typeof v === 'string') return typeof v as Kind;
  if (Array.isArray(v)) return 'array';
  if (ArrayBuffer.isView(v)) return 'typedArray';
  if (isTensorData(v)) return 'tensorData';
  if (isPlainObject(v)) return 'object';
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/**
 * Where batches are made: ordinary memory, or shared memory in a worker thread, so that the batch
 * reaches the main thread without a copy (set once by the worker, which loads batches and nothing else).
 */
const batchMemory = { shared: false };

/** Makes this thread's collated batches in shared memory (SharedArrayBuffer). */
export function collateIntoSharedMemory(): void {
  batchMemory.shared = true;
}

/** A zeroed array of `n` elements of `dtype` for a batch, shared when this thread makes shared batches. */
function allocBatch(dtype: DType, n: number): TypedArray {
  const plain = allocTyped(dtype, batchMemory.shared ? 0 : n);
  if (!batchMemory.shared) return plain;
  const Ctor = plain.constructor as new (buffer: SharedArrayBuffer) => TypedArray;
  return new Ctor(new SharedArrayBuffer(n * plain.BYTES_PER_ELEMENT));
}

/** `values` converted into a batch array of `dtype`. */
function batchOf(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = allocBatch(dtype, values.length);
  out.set(values);
  return out;
}

/** A typed array as host tensor data of its collated dtype (the values are converted on stacking). */
function typedArrayParts(a: ArrayBufferView): { dtype: DType; shape: Shape; data: ArrayLike<number> } {
  const entry = TYPED_ARRAY_DTYPES.find(([ctor]) => a instanceof ctor);
  if (!entry) throw new KilnError(`defaultCollate: a ${describe(a)} has no kiln dtype (give Float32Array, Int32Array, Uint32Array or smaller integer arrays)`);
  const data = a as unknown as ArrayLike<number>;
  return { dtype: entry[1], shape: [data.length], data };
}

/** Host parts of one shape and dtype stacked along a new first dimension, in one copy. */
function stackHost(parts: readonly { dtype: DType; shape: Shape; data: ArrayLike<number> }[]): Tensor {
  const { dtype, shape } = parts[0]!;
  const n = parts[0]!.data.length;
  const out = allocBatch(dtype, parts.length * n);
  parts.forEach((p, k) => {
    if (p.dtype !== dtype) throw new KilnError(`defaultCollate: stack expects tensors of one dtype, but got ${dtype} at entry 0 and ${p.dtype} at entry ${k}`);
    if (p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i])) {
      throw new KilnError(`defaultCollate: stack expects each tensor to be equal size, but got [${shape.join(', ')}] at entry 0 and [${p.shape.join(', ')}] at entry ${k}`);
    }
    out.set(p.data, k * n);
  });
  return Tensor.fromData({ dtype, shape: [parts.length, ...shape], data: out });
}

/** bigint samples (JavaScript's integers, as Python's int) as int64, narrowed to i32 loudly. */
function bigintValues(batch: readonly bigint[]): number[] {
  return batch.map((v, k) => {
    if (v < -(2n ** 31n) || v > 2n ** 31n - 1n) throw new KilnError(`defaultCollate: int64 is narrowed to int32, which cannot hold ${v} (entry ${k})`);
    return Number(v);
  });
}

/** Collates each kind of sample; every element of `batch` has that kind. */
const COLLATE: Readonly<Record<Kind, (batch: readonly never[]) => unknown>> = {
  tensor: (batch: readonly Tensor[]) =>
    // CPU data is copied once into the batch; tensors on a device, or recorded for autograd, go through the stack op.
    batch.every((t) => t.deviceType === 'cpu' && !t.isSymbolic && !t.requiresGrad) ? stackHost(batch.map((t) => t.data)) : stack(batch),
  tensorData: (batch: readonly TensorData[]) => stackHost(batch),
  typedArray: (batch: readonly ArrayBufferView[]) => stackHost(batch.map(typedArrayParts)),
  // JavaScript has one number type: numbers collate to f32, as floats do in PyTorch (its default dtype).
  number: (batch: readonly number[]) => Tensor.fromData({ dtype: 'f32', shape: [batch.length], data: batchOf('f32', batch) }),
  boolean: (batch: readonly boolean[]) => Tensor.fromData({ dtype: 'bool', shape: [batch.length], data: batchOf('bool', batch.map(Number)) }),
  bigint: (batch: readonly bigint[]) => Tensor.fromData({ dtype: 'i32', shape: [batch.length], data: batchOf('i32', bigintValues(batch)) }),
  string: (batch: readonly string[]) => [...batch],
  array: (batch: readonly unknown[][]) => {
    const n = batch[0]!.length;
    const k = batch.findIndex((s) => s.length !== n);
    if (k >= 0) throw new KilnError(`defaultCollate: each element in list of batch should be of equal size (entry 0 has ${n}, entry ${k} has ${batch[k]!.length})`);
    return Array.from({ length: n }, (_, i) => defaultCollate(batch.map((s) => s[i])));
  },
  object: (batch: readonly Record<string, unknown>[]) =>
    Object.fromEntries(Object.keys(batch[0]!).map((key) => {
      const k = batch.findIndex((s) => !Object.hasOwn(s, key));
      if (k >= 0) throw new KilnError(`defaultCollate: entry ${k} has no key '${key}' (entry 0 has it)`);
      return [key, defaultCollate(batch.map((s) => s[key]))];
    })),
};

/**
 * Makes one batch of a list of samples, as PyTorch's default_collate: tensors, TensorData and
 * typed arrays are stacked into one tensor with a new first dimension; numbers become an f32
 * tensor, booleans a bool tensor, bigints an int64 (i32) one; strings stay a list; arrays and
 * plain objects are collated element-wise into an array or object of batches.
 */
export function defaultCollate<T>(batch: readonly T[]): Collated<T> {
  if (batch.length === 0) throw new KilnError('defaultCollate: a batch needs at least one sample');
  const kind = kindOf(batch[0]);
  if (!kind) {
    throw new KilnError(`defaultCollate: a batch must hold tensors, TensorData, typed arrays, numbers, booleans, bigints, strings, or arrays and plain objects of them; found ${describe(batch[0])}`);
  }
  const k = batch.findIndex((s) => kindOf(s) !== kind);
  if (k >= 0) throw new KilnError(`defaultCollate: entry 0 is a ${kind} but entry ${k} is a ${describe(batch[k])}`);
  return COLLATE[kind](batch as readonly never[]) as Collated<T>;
}

/**
 * What a DataLoader without batching (`batchSize: null`) does to each sample, as PyTorch's
 * default_convert: TensorData and typed arrays become tensors, inside arrays and plain objects
 * too; everything else is left as it is.
 */
export function defaultConvert(sample: unknown): unknown {
  const kind = kindOf(sample);
  if (kind === 'tensorData') return Tensor.fromData(sample as TensorData);
  if (kind === 'typedArray') {
    const { dtype, shape, data } = typedArrayParts(sample as ArrayBufferView);
    return Tensor.fromData({ dtype, shape, data: batchOf(dtype, data) });
  }
  if (kind === 'array') return (sample as unknown[]).map(defaultConvert);
  if (kind === 'object') return Object.fromEntries(Object.entries(sample as Record<string, unknown>).map(([k, v]) => [k, defaultConvert(v)]));
  return sample;
}
