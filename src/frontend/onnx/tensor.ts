import { KilnError } from '../../ir/errors.js';
import { f16BitsToF32, f32ToF16Bits } from '../../ir/f16.js';
import { stringTensor, tensorData, type TensorData } from '../../ir/tensor-data.js';
import { allocTyped, numel, type DType } from '../../ir/types.js';
import { decodeNarrow, narrowBits } from '../../ir/ops/narrow.js';
import { isStorageOnly, kilnDType, narrowFormatOf, OnnxType, onnxTypeName, UnsupportedOnnxError } from './onnx-types.js';
import type { TensorProtoObject } from './proto.js';

export { kilnDType, OnnxType, onnxTypeName, UnsupportedOnnxError } from './onnx-types.js';

/**
 * A tensor known at import time: an initializer, a Constant, or a folded computation. `data`
 * is in kiln's dtype; an int64 (or uint64) tensor holding values outside the i32 (u32) range
 * keeps them exactly in `wide` (with `data` clamped), since such values are common as
 * parameters ("slice to the end" is INT64_MAX) and only an error once computed with.
 */
/** A constant 8-bit tensor and its per-tensor or per-axis scales and zero points (DequantizeLinear's inputs). */
export interface QuantizedOrigin {
  readonly values: ArrayLike<number>;
  /** ONNX INT8 or UINT8. */
  readonly onnxType: number;
  /** One value, or one per index of `axis`. */
  readonly scales: ArrayLike<number>;
  /** Empty (0), one value, or one per index of `axis`. */
  readonly zeros: ArrayLike<number>;
  readonly axis: number;
}

export interface ConstTensor {
  readonly kind: 'const';
  /** The ONNX name (initializer, node output) or a description, for messages and IR names. */
  readonly name: string;
  readonly data: TensorData;
  readonly wide?: Float64Array;
  /** The ONNX element type it was read as (kiln's dtype is coarser: int8 is stored in i32). */
  readonly onnxType?: number;
  /**
   * Where it is a DequantizeLinear of a constant 8-bit tensor (a QDQ model's weight): that
   * tensor, its scales and zero points, so a weight reader can keep it 8-bit (stored-weights.ts).
   */
  readonly dequantizedFrom?: QuantizedOrigin;
  /**
   * Shape arithmetic on sizes that vary from run to run: the same tensor's data at the builder's
   * probe settings of the sizes (`data` being its value at their largest). See OnnxBuilder.
   */
  readonly probes?: readonly TensorData[];
}

/** Whether a constant's value depends on sizes that vary from run to run. */
export function varies(c: ConstTensor): boolean {
  return (c.probes ?? []).some((p) => p.data.some((v, i) => v !== c.data.data[i]));
}

/** Wraps host data as a ConstTensor. */
export function constTensor(name: string, data: TensorData, wide?: Float64Array): ConstTensor {
  return wide ? { kind: 'const', name, data, wide } : { kind: 'const', name, data };
}

/** The tensor's values without a copy where they are stored as numbers (large weights read once). */
export function constArray(c: ConstTensor): ArrayLike<number> {
  return c.wide ?? (c.data.dtype === 'f16' ? constValues(c) : c.data.data as ArrayLike<number>);
}

/** The tensor's values as numbers (f16 decoded), exact even where `data` was clamped. */
export function constValues(c: ConstTensor): number[] {
  if (c.wide) return Array.from(c.wide);
  if (c.data.dtype === 'f16') return Array.from(c.data.data as Uint16Array, f16BitsToF32);
  return Array.from(c.data.data as ArrayLike<number>);
}

/** Throws when the constant cannot be represented in kiln's dtype (an int64 past the i32 range). */
export function checkRepresentable(c: ConstTensor): void {
  if (!c.wide) return;
  const [lo, hi] = c.data.dtype === 'u32' ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
  const i = c.wide.findIndex((x) => x < lo || x > hi);
  if (i >= 0) {
    const original = c.data.dtype === 'u32' ? 'uint64' : 'int64';
    throw new KilnError(`${original} tensor '${c.name}' holds ${formatWide(c.wide[i]!)} (element ${i}), outside the ${c.data.dtype} range kiln computes ${original} in (WGSL has no 64-bit integers)`);
  }
}

function formatWide(x: number): string {
  return Math.abs(x) >= 2 ** 53 ? `about ${BigInt(x).toString()}` : String(x);
}

/** Reads the bytes of a tensor stored outside the model file (ONNX external data). */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined, tensor: string) => Uint8Array;

/** Bytes of raw_data holding `n` elements of ONNX type `t` (4- and 2-bit types pack several in a byte). */
function rawByteLength(t: number, n: number): number {
  switch (t) {
    case OnnxType.BOOL: case OnnxType.INT8: case OnnxType.UINT8: return n;
    case OnnxType.INT16: case OnnxType.UINT16: case OnnxType.FLOAT16: case OnnxType.BFLOAT16: return 2 * n;
    case OnnxType.INT64: case OnnxType.UINT64: case OnnxType.DOUBLE: return 8 * n;
  }
  const format = isStorageOnly(t) ? narrowFormatOf(t) : undefined;
  return format ? Math.ceil((n * narrowBits(format)) / 8) : 4 * n;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Reads one element of raw little-endian data of ONNX type `t` as a number (f16 as its bits). */
function rawReader(t: number, view: DataView): (i: number) => number {
  switch (t) {
    case OnnxType.FLOAT: return (i) => view.getFloat32(4 * i, true);
    case OnnxType.DOUBLE: return (i) => view.getFloat64(8 * i, true);
    case OnnxType.FLOAT16: case OnnxType.UINT16: return (i) => view.getUint16(2 * i, true);
    case OnnxType.BFLOAT16: return (i) => bf16ToF32(view.getUint16(2 * i, true));
    case OnnxType.INT16: return (i) => view.getInt16(2 * i, true);
    case OnnxType.INT8: return (i) => view.getInt8(i);
    case OnnxType.UINT8: case OnnxType.BOOL: return (i) => view.getUint8(i);
    case OnnxType.INT32: return (i) => view.getInt32(4 * i, true);
    case OnnxType.UINT32: return (i) => view.getUint32(4 * i, true);
    case OnnxType.INT64: return (i) => Number(view.getBigInt64(8 * i, true));
    case OnnxType.UINT64: return (i) => Number(view.getBigUint64(8 * i, true));
  }
  const format = isStorageOnly(t) ? narrowFormatOf(t) : undefined;
  if (!format) throw new Error(`internal: no raw reader for ${onnxTypeName(t)}`);
  // float8 is a byte each; 4- and 2-bit values fill bytes from the low bits up.
  const bits = narrowBits(format);
  return (i) => decodeNarrow(format, (view.getUint8((i * bits) >> 3) >> ((i * bits) & 7)) & ((1 << bits) - 1));
}

/** The bytes of a narrow type's int32_data (which holds one byte of packed raw data per entry). */
function int32DataBytes(p: TensorProtoObject): Uint8Array | undefined {
  return p.int32_data?.length ? Uint8Array.from(p.int32_data, (b) => b & 0xff) : undefined;
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bf16ToF32(bits: number): number {
  bf16Scratch.setUint32(0, bits << 16);
  return bf16Scratch.getFloat32(0);
}

/** The typed field that holds a tensor's values when it has no raw_data (onnx.proto's table). */
function typedField(p: TensorProtoObject, t: number): { field: string; values: number[] | undefined } {
  switch (t) {
    case OnnxType.FLOAT: return { field: 'float_data', values: p.float_data };
    case OnnxType.DOUBLE: return { field: 'double_data', values: p.double_data };
    case OnnxType.INT64: return { field: 'int64_data', values: p.int64_data };
    case OnnxType.UINT32: case OnnxType.UINT64: return { field: 'uint64_data', values: p.uint64_data };
    case OnnxType.BFLOAT16: return { field: 'int32_data', values: p.int32_data?.map((b) => bf16ToF32(b & 0xffff)) };
    // int32_data holds int32, int16, int8, uint16, uint8, bool, and float16's bits.
    default: return { field: 'int32_data', values: p.int32_data };
  }
}

/** A tensor's dims, checked to be non-negative integers. */
export function tensorDims(p: TensorProtoObject, what: string): number[] {
  const dims = p.dims ?? [];
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new KilnError(`${what} has an invalid dimension ${d} in [${dims.join(',')}]`);
  }
  return dims;
}

/** Looks up a key of a tensor's external_data entries. */
function externalKey(p: TensorProtoObject, key: string): string | undefined {
  return p.external_data?.find((e) => e.key === key)?.value;
}

/** The bytes of an EXTERNAL tensor, checked to have the size its type and dims need. */
function externalBytes(p: TensorProtoObject, what: string, read: ExternalDataReader | undefined, expected: number): Uint8Array {
  const location = externalKey(p, 'location');
  if (!location) throw new KilnError(`${what} is stored externally but names no location`);
  if (!read) throw new KilnError(`${what} is stored in the external file '${location}': import the model from its file path (or pass a readExternalData option) so kiln can find it`);
  const num = (key: string): number | undefined => {
    const s = externalKey(p, key);
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0) throw new KilnError(`${what} has an invalid external ${key} '${s}'`);
    return n;
  };
  const offset = num('offset') ?? 0;
  const length = num('length') ?? expected;
  if (length !== expected) throw new KilnError(`${what} has external length ${length} bytes but needs ${expected}`);
  const bytes = read(location, offset, length, what);
  if (bytes.byteLength !== expected) {
    throw new KilnError(`${what}: the external file '${location}' holds ${bytes.byteLength} bytes at offset ${offset}, but the tensor needs ${expected} (is the file truncated?)`);
  }
  return bytes;
}

/**
 * Converts a TensorProto to a ConstTensor in kiln's dtype, from whichever encoding it uses:
 * raw_data, the typed fields, or an external file. Element counts and byte sizes are checked.
 */
export function readTensor(p: TensorProtoObject, read?: ExternalDataReader, fallbackName = 'tensor'): ConstTensor {
  return { ...readTensorData(p, read, fallbackName), onnxType: p.data_type ?? 0 };
}

function readTensorData(p: TensorProtoObject, read: ExternalDataReader | undefined, fallbackName: string): ConstTensor {
  const name = p.name || fallbackName;
  const what = `tensor '${name}'`;
  const t = p.data_type ?? 0;
  const dtype = kilnDType(t, what);
  const shape = tensorDims(p, what);
  const n = numel(shape);
  if (p.segment) throw new UnsupportedOnnxError(`${what} is a segment of a larger tensor, which kiln does not support`);
  if (t === OnnxType.STRING) return constTensor(name, readStrings(p, what, shape));
  let bytes: Uint8Array | undefined;
  if (p.data_location === 1) {
    bytes = externalBytes(p, what, read, rawByteLength(t, n));
  } else if (p.raw_data !== undefined && (p.raw_data.byteLength > 0 || !typedField(p, t).values?.length)) {
    const need = rawByteLength(t, n);
    if (p.raw_data.byteLength !== need) throw new KilnError(`${what} has ${p.raw_data.byteLength} bytes of raw_data but ${onnxTypeName(t)}[${shape.join(',')}] needs ${need}`);
    bytes = p.raw_data;
  }
  if (!bytes && isStorageOnly(t)) {
    bytes = int32DataBytes(p) ?? new Uint8Array(0);
    if (bytes.byteLength !== rawByteLength(t, n)) throw new KilnError(`${what} has ${bytes.byteLength} bytes in int32_data but ${onnxTypeName(t)}[${shape.join(',')}] needs ${rawByteLength(t, n)}`);
  }
  let at: (i: number) => number;
  if (bytes) {
    // Weights are mostly f32: copy them whole (raw data is little-endian, like every WebGPU host).
    if (t === OnnxType.FLOAT && LITTLE_ENDIAN) return constTensor(name, { dtype, shape, data: new Float32Array(new Uint8Array(bytes).buffer) });
    at = rawReader(t, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } else {
    const { field, values } = typedField(p, t);
    const got = values?.length ?? 0;
    if (got !== n) throw new KilnError(`${what} has ${got} values in ${field} but ${onnxTypeName(t)}[${shape.join(',')}] needs ${n}`);
    at = (i) => values![i]!;
  }
  return fill(name, t, dtype, shape, n, at);
}

/** A string tensor's elements: string_data, each UTF-8 bytes (ONNX keeps strings out of raw_data). */
function readStrings(p: TensorProtoObject, what: string, shape: number[]): TensorData {
  if (p.data_location === 1) throw new UnsupportedOnnxError(`${what} is a string tensor stored externally, which kiln does not support`);
  const values = p.string_data ?? [];
  if (values.length !== numel(shape)) throw new KilnError(`${what} has ${values.length} values in string_data but string[${shape.join(',')}] needs ${numel(shape)}`);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  return stringTensor(shape, values.map((b, i) => {
    try {
      return utf8.decode(b);
    } catch {
      throw new KilnError(`${what}: string element ${i} is not valid UTF-8`);
    }
  }));
}

/** Builds the kiln-typed data, converting doubles, keeping f16 bits, and range-checking 64-bit integers. */
function fill(name: string, t: number, dtype: DType, shape: number[], n: number, at: (i: number) => number): ConstTensor {
  const out = allocTyped(dtype, n);
  if (t === OnnxType.INT64 || t === OnnxType.UINT64 || t === OnnxType.UINT32) {
    const [lo, hi] = dtype === 'u32' ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
    let wide: Float64Array | undefined;
    for (let i = 0; i < n; i++) {
      const x = at(i);
      if (x < lo || x > hi) wide ??= new Float64Array(n);
      out[i] = Math.min(hi, Math.max(lo, x));
    }
    if (wide) for (let i = 0; i < n; i++) wide[i] = at(i);
    return constTensor(name, { dtype, shape, data: out }, wide);
  }
  if (t === OnnxType.BOOL) for (let i = 0; i < n; i++) out[i] = at(i) ? 1 : 0;
  else if (t === OnnxType.FLOAT16) for (let i = 0; i < n; i++) out[i] = at(i) & 0xffff;
  else for (let i = 0; i < n; i++) out[i] = at(i);
  return constTensor(name, { dtype, shape, data: out });
}

/** A scalar or vector constant of kiln dtype `dtype`, for constants the importer makes itself. */
export function makeConst(name: string, dtype: DType, shape: readonly number[], values: readonly number[]): ConstTensor {
  if (dtype === 'f16') return constTensor(name, tensorData('f16', shape, Uint16Array.from(values, f32ToF16Bits)));
  return constTensor(name, tensorData(dtype, shape, values));
}
