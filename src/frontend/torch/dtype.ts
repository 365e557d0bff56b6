import { KilnError } from '../../ir/errors.js';
import type { DType } from '../../ir/types.js';

/** A dtype as kiln spells it (`f32`) or as PyTorch users do (`float32`, `float16`, `half`, ...). */
export type DTypeLike =
  | DType
  | 'float32' | 'float' | 'float16' | 'half' | 'int32' | 'int' | 'uint32' | 'int64' | 'long';

/**
 * PyTorch's 64-bit integer spellings. Kernels have no 64-bit integers, so these narrow to i32,
 * as the ONNX importer narrows int64: values that do not fit are an error, never wrapped.
 */
const INT64_NAMES: ReadonlySet<string> = new Set(['int64', 'long']);

const ALIASES: Readonly<Record<string, DType>> = {
  f32: 'f32', float32: 'f32', float: 'f32',
  f16: 'f16', float16: 'f16', half: 'f16',
  i32: 'i32', int32: 'i32', int: 'i32', int64: 'i32', long: 'i32',
  u32: 'u32', uint32: 'u32',
  bool: 'bool',
};

/** True when `s` names a dtype (so `t.to('float16')` is told apart from `t.to('webgpu')`). */
export function isDTypeName(s: string): boolean {
  return Object.hasOwn(ALIASES, s);
}

/** The kiln dtype a user's spelling names; an unknown name gets an error listing the accepted ones. */
export function parseDType(d: string): DType {
  const dtype = ALIASES[d];
  if (!dtype) throw new KilnError(`unknown dtype '${d}' (accepted: ${Object.keys(ALIASES).join(', ')})`);
  return dtype;
}

/** PyTorch's name of a dtype, for messages. */
export function torchDTypeName(d: DType): string {
  return { f32: 'float32', f16: 'float16', i32: 'int32', u32: 'uint32', bool: 'bool', string: 'string' }[d];
}

/**
 * Checks values given for a dtype spelled as int64: each must be an integer that i32 holds,
 * since that is what int64 narrows to. Other dtypes pass unchecked.
 */
export function checkNarrowedInt64(d: string, values: ArrayLike<number>, what: string): void {
  if (!INT64_NAMES.has(d)) return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // PyTorch truncates fractions toward zero; only the range is checked.
    const t = Math.trunc(v);
    if (!Number.isFinite(v) || t < -(2 ** 31) || t > 2 ** 31 - 1) {
      throw new KilnError(`${what}: dtype '${d}' is narrowed to int32, which cannot hold ${v} (element ${i})`);
    }
  }
}
