import { f16BitsToF32, f32ToF16Bits } from '../../../ir/f16.js';
import type { TensorData } from '../../../ir/tensor-data.js';

/** The elements of a host tensor as numbers: f16 decoded from its bits, other dtypes as stored. */
export function hostValues(t: TensorData): ArrayLike<number> {
  if (t.dtype !== 'f16') return t.data;
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f16BitsToF32(t.data[i]!);
  return out;
}

/** Stores `x` as element `i` of `t`, rounded to its dtype as a device store would (f16 to bits). */
export function storeValue(t: TensorData, i: number, x: number): void {
  t.data[i] = t.dtype === 'f16' ? f32ToF16Bits(x) : x;
}

/** Fills `t` with `values`, each rounded to its dtype (f16 to bits); returns `t`. */
export function storeValues(t: TensorData, values: ArrayLike<number>): TensorData {
  for (let i = 0; i < values.length; i++) storeValue(t, i, values[i]!);
  return t;
}
