import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { numel, type DType, type TypedArray } from '../ir/types.js';
import { DeviceTensor } from './device-tensor.js';
import { deviceBufferBytes } from './program.js';

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

/**
 * ONNX Runtime's types that kiln stores in another (as its ONNX importer does, WGSL having no
 * 64-bit or 8/16-bit integers and no f64): a Tensor made of one converts its values, checked
 * to fit, and reads as the type it is stored in. So code feeding an int64 `input_ids` runs.
 */
export type StoredTensorType = 'int64' | 'uint64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'float64';

/** The typed arrays of the stored types. */
export type StoredTypedArray = BigInt64Array | BigUint64Array | Int8Array | Int16Array | Float64Array;

const STORED: Readonly<Record<StoredTensorType, { as: TensorElementType; array: Function; min: number; max: number }>> = {
  int64: { as: 'int32', array: BigInt64Array, min: -(2 ** 31), max: 2 ** 31 - 1 },
  uint64: { as: 'uint32', array: BigUint64Array, min: 0, max: 2 ** 32 - 1 },
  int8: { as: 'int32', array: Int8Array, min: -128, max: 127 },
  uint8: { as: 'int32', array: Uint8Array, min: 0, max: 255 },
  int16: { as: 'int32', array: Int16Array, min: -32768, max: 32767 },
  uint16: { as: 'int32', array: Uint16Array, min: 0, max: 65535 },
  float64: { as: 'float32', array: Float64Array, min: -Infinity, max: Infinity },
};

/** A stored type's values in the typed array of the type it is stored in, each checked to fit. */
function storedValues(type: StoredTensorType, values: unknown): TypedArray {
  const spec = STORED[type];
  if (ArrayBuffer.isView(values) && !(values instanceof spec.array)) throw new KilnError(`${an(type)} Tensor takes its data in ${withArticle(spec.array.name)} or a plain array, got ${describe(values)}`);
  if (!ArrayBuffer.isView(values) && !Array.isArray(values)) throw new KilnError(`Tensor data must be a typed array or a plain array, got ${describe(values)}`);
  const source = values as ArrayLike<number | bigint>;
  const out = new TYPES[spec.as].array(source.length);
  for (let i = 0; i < source.length; i++) {
    const v = Number(source[i]);
    const integral = type !== 'float64';
    if (integral && !Number.isInteger(v)) throw new KilnError(`${an(type)} Tensor's value ${String(source[i])} at index ${i} is not an integer`);
    if (v < spec.min || v > spec.max) {
      const why = type === 'int64' || type === 'uint64' ? `: kiln computes ${type} in ${spec.as}` : ` (${type}'s range)`;
      throw new KilnError(`${an(type)} Tensor's value ${String(source[i])} at index ${i} is outside ${spec.min}..${spec.max}${why}`);
    }
    out[i] = v;
  }
  return out;
}

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

/** `an 'int8'`, `a 'float32'`: a type name, quoted, with its article. */
function an(type: string): string {
  return withArticle(`'${type}'`);
}

/** `an Int8Array`, `a Float32Array`. */
function withArticle(text: string): string {
  return `${/^'?[aeio]/i.test(text) ? 'an' : 'a'} ${text}`;
}

function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return withArticle(v.constructor.name);
  if (Array.isArray(v)) return 'a plain array';
  return v === null ? 'null' : `a ${typeof v}`;
}

/**
 * A tensor: ORT's `type`/`dims`/`data`/`size`/`location`, and kiln's `dtype`/`shape`. Its data is
 * on the host ('cpu'), or, for an output an InferenceSession keeps on the device
 * (preferredOutputLocation 'gpu-buffer'), in a device buffer, which `getData()` downloads and a
 * later run takes as an input without a trip through the host.
 */
export class Tensor implements TensorData {
  readonly type: TensorElementType;
  readonly dims: readonly number[];
  private host: TypedArray | undefined;
  private device: DeviceTensor | undefined;

  /** `new Tensor(type, data, dims?)`, or `new Tensor(typedArray, dims?)` with the type inferred. dims default to `[data.length]`. */
  constructor(type: TensorElementType, data: TypedArray | readonly number[] | readonly boolean[] | readonly string[], dims?: readonly number[]);
  /** ORT's other types, stored as kiln computes them (int64 in int32, float64 in float32, ...): see StoredTensorType. */
  constructor(type: StoredTensorType, data: StoredTypedArray | Uint8Array | Uint16Array | readonly number[] | readonly bigint[], dims?: readonly number[]);
  constructor(data: TypedArray | readonly string[], dims?: readonly number[]);
  constructor(
    a: TensorElementType | StoredTensorType | TypedArray | readonly string[],
    b?: TypedArray | StoredTypedArray | readonly number[] | readonly boolean[] | readonly string[] | readonly bigint[],
    c?: readonly number[],
  ) {
    const typed = typeof a === 'string';
    let type = typed ? a : inferType(a);
    if (Object.hasOwn(STORED, type)) {
      b = storedValues(type as StoredTensorType, b);
      type = STORED[type as StoredTensorType].as;
    }
    const spec = TYPES[type as TensorElementType];
    if (!spec) {
      throw new KilnError(`Tensor type '${String(type)}' is not one kiln computes in; it takes ${Object.keys(TYPES).join(', ')}, and ${Object.keys(STORED).join(', ')} as stored in those`);
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
      throw new KilnError(`${an(type)} Tensor takes its data in ${withArticle(spec.array.name)}, got ${describe(values)}`);
    } else if (type === 'float16') {
      throw new KilnError("a 'float16' Tensor takes its data as f16 bits in a Uint16Array");
    } else {
      data = new spec.array(values.length);
      values.forEach((v, i) => { data[i] = Number(v); });
    }
    this.type = type as TensorElementType;
    this.host = data;
    this.dims = [...dims];
  }

  /** A kiln TensorData (dtype, shape, data) as a Tensor, sharing its data; a DeviceTensor as one on the device. */
  static from(t: TensorData | DeviceTensor): Tensor {
    if (t instanceof Tensor) return t;
    if ('data' in t) return new Tensor(tensorTypeOf(t.dtype), t.data, t.shape);
    // No host data to check: its dtype and shape are the run's.
    const tensor = Object.create(Tensor.prototype) as Tensor;
    Object.assign(tensor, { type: tensorTypeOf(t.dtype), dims: [...t.shape], host: undefined, device: t });
    return tensor;
  }

  /**
   * ORT's Tensor.fromGpuBuffer: a Tensor whose data is in the caller's GPUBuffer, on the device the
   * session runs on (`session.device.device`), which a run copies on the device. getData() calls
   * `download`, dispose() calls `dispose`; the buffer stays the caller's. Its bytes must be laid
   * out as kiln's are, which holds for float32, float16, int32 and uint32.
   */
  static fromGpuBuffer(buffer: GPUBuffer, options: { readonly dataType?: TensorElementType; readonly dims: readonly number[]; readonly download?: () => Promise<TypedArray>; readonly dispose?: () => void }): Tensor {
    const type = options.dataType ?? 'float32';
    const alike: readonly TensorElementType[] = ['float32', 'float16', 'int32', 'uint32'];
    if (!alike.includes(type)) throw new KilnError(`Tensor.fromGpuBuffer: kiln's device buffers do not hold '${type}' data as given; it takes ${alike.join(', ')}`);
    const { dims } = options;
    if (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new KilnError(`Tensor.fromGpuBuffer: dims must be an array of non-negative integers, got ${JSON.stringify(dims)}`);
    const dtype = TYPES[type].dtype;
    const bytes = deviceBufferBytes(dtype, numel(dims));
    if (buffer.size < bytes) throw new KilnError(`Tensor.fromGpuBuffer: a '${type}' tensor of dims [${dims.join(',')}] needs a buffer of at least ${bytes} bytes, got ${buffer.size}`);
    if (!(buffer.usage & GPUBufferUsage.COPY_SRC)) throw new KilnError('Tensor.fromGpuBuffer: the buffer needs GPUBufferUsage.COPY_SRC (a run copies it into its input)');
    return Tensor.from(new DeviceTensor(undefined, buffer, dtype, dims, { ...(options.download ? { download: options.download } : {}), ...(options.dispose ? { dispose: options.dispose } : {}) }));
  }

  /** Where the data is: on the host ('cpu'), or in a device buffer ('gpu-buffer'). */
  get location(): 'cpu' | 'gpu-buffer' {
    return this.device ? 'gpu-buffer' : 'cpu';
  }

  /** The values, on the host; for a Tensor on the device, `await getData()` downloads them. */
  get data(): TypedArray {
    if (this.host) return this.host;
    throw new KilnError(`this Tensor's data is on the device (location 'gpu-buffer'): download it with await getData(), or use gpuBuffer`);
  }

  /** The device buffer holding a Tensor on the device (as kiln's runtime stores its dtype). */
  get gpuBuffer(): GPUBuffer {
    if (this.device) return this.device.buffer;
    throw new KilnError("this Tensor's data is on the host (location 'cpu'): it has no gpuBuffer");
  }

  /** @internal The device data a run takes as an input (undefined on the host). */
  get deviceTensor(): DeviceTensor | undefined {
    return this.device;
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
    return numel(this.dims);
  }

  /** ORT's reshape: the same data (shared, not copied) with other dims of the same element count. */
  reshape(dims: readonly number[]): Tensor {
    if (this.device) throw new KilnError('Tensor.reshape: the data is on the device (location \'gpu-buffer\'); download it with getData() first');
    if (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || d < 0) || numel(dims) !== this.data.length) {
      throw new KilnError(`Tensor.reshape([${Array.isArray(dims) ? dims.join(',') : String(dims)}]): a Tensor of ${this.data.length} elements (dims [${this.dims.join(',')}]) takes dims of that many`);
    }
    return new Tensor(this.type, this.data, dims);
  }

  /**
   * The values on the host: downloaded from the device, or at once for a Tensor on the host.
   * With `releaseData`, a Tensor on the device keeps them and frees its device buffer (it is then
   * on the host), as ORT's does.
   */
  async getData(releaseData = false): Promise<TypedArray> {
    if (!this.device) return this.data;
    const { data } = await this.device.read();
    if (releaseData) {
      this.device.destroy();
      this.device = undefined;
      this.host = data;
    }
    return data;
  }

  /** Frees a Tensor's device buffer (a run given it afterwards fails, naming the input); a host Tensor has none. */
  dispose(): void {
    this.device?.destroy();
  }
}
