import { KilnError } from '../../ir/errors.js';
import type { NarrowFormat } from '../../ir/ops/narrow.js';
import type { DType } from '../../ir/types.js';

/** ONNX TensorProto.DataType values the importer names. */
export const OnnxType = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22,
  FLOAT4E2M1: 23, FLOAT8E8M0: 24, UINT2: 25, INT2: 26,
} as const;

const TYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64',
  15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2',
  20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1', 24: 'float8e8m0', 25: 'uint2', 26: 'int2',
};

/** ONNX's name of an element type, e.g. `int64`. */
export function onnxTypeName(t: number): string {
  return TYPE_NAMES[t] ?? `type #${t}`;
}

/** Something in the model kiln cannot import (an op, an attribute value, a dtype): not a bug in the file. */
export class UnsupportedOnnxError extends KilnError {
  override name = 'UnsupportedOnnxError';
}

/**
 * How kiln stores each ONNX element type: in a kiln dtype and, for types narrower than it, as
 * values of a narrow format (src/ir/ops/narrow.ts) that a cast to the type rounds or wraps into.
 * WGSL has no 64-bit or 8/16-bit integers and no f64: double becomes f32 (rounded), int64 i32
 * (range-checked), uint32/uint64 u32; the narrow types are emulated in f32 or i32.
 */
const STORAGE: Readonly<Record<number, { readonly dtype: DType; readonly format?: NarrowFormat }>> = {
  [OnnxType.FLOAT]: { dtype: 'f32' },
  [OnnxType.DOUBLE]: { dtype: 'f32' },
  [OnnxType.FLOAT16]: { dtype: 'f16' },
  [OnnxType.INT32]: { dtype: 'i32' },
  [OnnxType.INT64]: { dtype: 'i32' },
  [OnnxType.UINT32]: { dtype: 'u32' },
  [OnnxType.UINT64]: { dtype: 'u32' },
  [OnnxType.BOOL]: { dtype: 'bool' },
  [OnnxType.STRING]: { dtype: 'string' },
  [OnnxType.INT8]: { dtype: 'i32', format: 'int8' },
  [OnnxType.UINT8]: { dtype: 'i32', format: 'uint8' },
  [OnnxType.INT16]: { dtype: 'i32', format: 'int16' },
  [OnnxType.UINT16]: { dtype: 'i32', format: 'uint16' },
  [OnnxType.INT4]: { dtype: 'i32', format: 'int4' },
  [OnnxType.UINT4]: { dtype: 'i32', format: 'uint4' },
  [OnnxType.INT2]: { dtype: 'i32', format: 'int2' },
  [OnnxType.UINT2]: { dtype: 'i32', format: 'uint2' },
  [OnnxType.BFLOAT16]: { dtype: 'f32', format: 'bfloat16' },
  [OnnxType.FLOAT8E4M3FN]: { dtype: 'f32', format: 'float8e4m3fn' },
  [OnnxType.FLOAT8E4M3FNUZ]: { dtype: 'f32', format: 'float8e4m3fnuz' },
  [OnnxType.FLOAT8E5M2]: { dtype: 'f32', format: 'float8e5m2' },
  [OnnxType.FLOAT8E5M2FNUZ]: { dtype: 'f32', format: 'float8e5m2fnuz' },
  [OnnxType.FLOAT4E2M1]: { dtype: 'f32', format: 'float4e2m1' },
  [OnnxType.FLOAT8E8M0]: { dtype: 'f32', format: 'float8e8m0' },
};

/** The kiln dtype an ONNX element type is stored and computed in; others are not supported. */
export function kilnDType(t: number, what: string): DType {
  const s = STORAGE[t];
  if (!s) throw new UnsupportedOnnxError(`${what} has element type ${onnxTypeName(t)}, which kiln does not support`);
  return s.dtype;
}

/** The narrow format an ONNX element type is emulated as, if it is narrower than its kiln dtype. */
export function narrowFormatOf(t: number): NarrowFormat | undefined {
  return STORAGE[t]?.format;
}

/**
 * Types whose arithmetic kiln cannot emulate by rounding once per ONNX node: float8, float4
 * and 4/2-bit integers are only stored and cast (movement ops carry them unchanged).
 */
export function isStorageOnly(t: number): boolean {
  const f = STORAGE[t]?.format;
  return f !== undefined && f !== 'bfloat16' && !['int8', 'uint8', 'int16', 'uint16'].includes(f);
}
