import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { numel, type DType, type TypedArray } from '../ir/types.js';

// ONNX Runtime Web's Tensor, as far as kiln's dtypes go, so that code written against
// `onnxruntime-web` runs unchanged: `new Tensor('float32', data, [1, 3, 48, 192])`, then
// `type`, `dims`, `data`, `size`. It also carries kiln's names (`dtype`, `shape`), so a Tensor is
// a TensorData wherever kiln takes one.

/** ONNX Runtime's names of the element types kiln computes in. */
export type TensorElementType = 'float32' | 'float16' | 'int32' | 'uint32' | 'bool' | 'string';

/** Each ORT type name with kiln's dtype and the typed array that holds it. */
const TYPES: Readonly<Record<TensorElementType, { dtype: DType; array: new (n: number) => TypedArray }>> = {
  float32: { dtype: 'f32', array: Float32Array },
  float16: { dtype: 'f16', array: Uint16Array },
  int32: { dtype: 'i32', array: Int32Array },
  uint32: { dtype: 'u32', array: Uint32Array },
  bool: { dtype: 'bool', array: Uint8Array },
  // JS strings in a plain array (host-only: string tensors never reach a GPU).
  string: { dtype: 'string', array: Array as unknown as new (n: number) => TypedArray },
};

/** ORT's name of a kiln dtype. */
export function tensorTypeOf(dtype: DType): TensorElementType {
  return (Object.keys(TYPES) as TensorElementType[]).find((t) => TYPES[t].dtype === dtype)!;
}

/** The ORT type a typed array stands for when no type is given (Uint8Array: bool, kiln has no uint8). */
function inferType(data: unknown): TensorElementType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Uint16Array) return 'float16';
  if (data instanceof Uint8Array) return 'bool';
  if (Array.isArray(data) && data.length > 0 && data.every((x) => typeof x === 'string')) return 'string';
  throw new KilnError(`new Tensor(data, dims): cannot tell the element type of ${describe(data)}; give it first, e.g. new Tensor('float32', data, dims)`);
}

function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (Array.isArray(v)) return 'a plain array';
  return v === null ? 'null' : `a ${typeof v}`;
}

/** A tensor on the host: ORT's `type`/`dims`/`data`/`size`, and kiln's `dtype`/`shape`. */
export class Tensor implements TensorData {
  readonly type: TensorElementType;
  readonly data: TypedArray;
  readonly dims: readonly number[];
  /** Where the data lives; always the CPU (a kiln session copies inputs to its own buffers). */
  readonly location = 'cpu' as const;

  /** `new Tensor(type, data, dims?)`, or `new Tensor(typedArray, dims?)` with the type inferred. dims default to `[data.length]`. */
  constructor(type: TensorElementType, data: TypedArray | readonly number[] | readonly boolean[] | readonly string[], dims?: readonly number[]);
  constructor(data: TypedArray | readonly string[], dims?: readonly number[]);
  constructor(a: TensorElementType | TypedArray | readonly string[], b?: TypedArray | readonly number[] | readonly boolean[] | readonly string[], c?: readonly number[]) {
    const typed = typeof a === 'string';
    const type = typed ? a : inferType(a);
    const spec = TYPES[type];
    if (!spec) {
      throw new KilnError(`Tensor type '${String(type)}' is not one kiln computes in; it takes ${Object.keys(TYPES).join(', ')}`);
    }
    const values = (typed ? b : a) as TypedArray | readonly (number | boolean)[] | undefined;
    const dims = (typed ? c : (b as readonly number[] | undefined)) ?? [values?.length ?? 0];
    if (!Array.isArray(values) && !ArrayBuffer.isView(values)) {
      throw new KilnError(`Tensor data must be a typed array or a plain array, got ${describe(values)}`);
    }
    if (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new KilnError(`Tensor dims must be an array of non-negative integers, got ${JSON.stringify(dims)}`);
    }
    if (numel(dims) !== values.length) {
      throw new KilnError(`Tensor of dims [${dims.join(',')}] needs ${numel(dims)} values, got ${values.length}`);
    }
    let data: TypedArray;
    if (type === 'string') {
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw new KilnError("a 'string' Tensor takes its data as a plain array of JS strings");
      data = [...values] as unknown as TypedArray;
    } else if (values instanceof spec.array) data = values;
    else if (ArrayBuffer.isView(values)) {
      throw new KilnError(`a '${type}' Tensor takes its data in a ${spec.array.name}, got ${describe(values)}`);
    } else if (type === 'float16') {
      throw new KilnError("a 'float16' Tensor takes its data as f16 bits in a Uint16Array");
    } else {
      data = new spec.array(values.length);
      values.forEach((v, i) => { data[i] = Number(v); });
    }
    this.type = type;
    this.data = data;
    this.dims = [...dims];
  }

  /** A kiln TensorData (dtype, shape, data) as a Tensor, sharing its data. */
  static from(t: TensorData): Tensor {
    return t instanceof Tensor ? t : new Tensor(tensorTypeOf(t.dtype), t.data, t.shape);
  }

  /** kiln's name of the element type. */
  get dtype(): DType {
    return TYPES[this.type].dtype;
  }

  /** kiln's name of the dimensions. */
  get shape(): readonly number[] {
    return this.dims;
  }

  /** The number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** ORT's accessor for data that may live on a device; here the data is already on the host. */
  async getData(): Promise<TypedArray> {
    return this.data;
  }

  /** ORT releases device data here; a host tensor has none. */
  dispose(): void {}
}
