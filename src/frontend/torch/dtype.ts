import { KilnError } from '../../ir/errors.js';
import type { DType } from '../../ir/types.js';

/** A dtype as kiln spells it (`f32`) or as PyTorch users do (`float32`, `float16`, `half`, ...). */
export type DTypeLike =
  | DType
  | 'float32' | 'float' | 'float16' | 'half' | 'int32' | 'int' | 'uint32';

const ALIASES: Readonly<Record<string, DType>> = {
  f32: 'f32', float32: 'f32', float: 'f32',
  f16: 'f16', float16: 'f16', half: 'f16',
  i32: 'i32', int32: 'i32', int: 'i32',
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
  return { f32: 'float32', f16: 'float16', i32: 'int32', u32: 'uint32', bool: 'bool' }[d];
}
