// ai.onnx.ml LabelEncoder: each element of X looked up among the keys and replaced by the value at
// the same place, or by the default where no key matches. Keys and values may be strings, so it
// is a CPU op.
import type { AttrsOf } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { defineOp } from './registry.js';

export const labelEncoderAttrs = {
  /** Keys of X's dtype, and values of the result's dtype, as vectors of equal length. */
  keys: { kind: 'tensor' },
  values: { kind: 'tensor' },
  /** One element of the values' dtype. */
  default: { kind: 'tensor' },
} as const;

export type LabelEncoderAttrs = AttrsOf<typeof labelEncoderAttrs>;

/** label_encoder(x) -> the values' dtype, x's shape. */
defineOp({
  name: 'label_encoder', kind: 'opaque', inputs: 1, strings: true,
  attrs: labelEncoderAttrs,
  infer: ([x], { keys, values, default: dflt }) => {
    if (keys.dtype !== x!.dtype) throw new OpTypeError(`takes keys of its operand's dtype, got ${keys.dtype} keys for ${formatShapeType(x!.dtype, x!.shape)}`);
    if (keys.shape.length !== 1 || values.shape.length !== 1 || keys.shape[0] !== values.shape[0]) {
      throw new OpTypeError(`takes keys and values as vectors of one length, got [${keys.shape.join(',')}] and [${values.shape.join(',')}]`);
    }
    if (dflt.dtype !== values.dtype || dflt.data.length !== 1) throw new OpTypeError(`takes one default of the values' dtype (${values.dtype}), got ${formatShapeType(dflt.dtype, dflt.shape)}`);
    return [{ dtype: values.dtype, shape: [...x!.shape] }];
  },
});
