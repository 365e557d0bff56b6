import { attrsOf } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { formatShapeType, shapesEqual } from '../types.js';
import type { Value } from '../graph.js';
import type { TensorData } from '../tensor-data.js';
import { defineOp } from './registry.js';

/** const's attributes: its value inline, or a reference to a weight stored beside the IR text. */
export const constAttrs = { value: { kind: 'tensor', optional: true }, ref: { kind: 'string', optional: true } } as const;

/**
 * A constant tensor. `value` holds its contents; `ref` names a weight whose contents travel
 * beside the IR text (large weights are not printed inline).
 */
defineOp({
  name: 'const', kind: 'opaque', inputs: 0,
  attrs: constAttrs,
  infer: (_, attrs, declared) => {
    const value = attrs.value;
    if (value) {
      const d = declared?.[0];
      if (d && (d.dtype !== value.dtype || !shapesEqual(d.shape, value.shape))) {
        throw new OpTypeError(`value is ${formatShapeType(value.dtype, value.shape)} but declared ${formatShapeType(d.dtype, d.shape)}`);
      }
      return [{ dtype: value.dtype, shape: value.shape }];
    }
    if (attrs.ref === undefined) throw new OpTypeError('needs a value or a ref');
    if (!declared?.[0]) throw new OpTypeError(`ref "${String(attrs.ref)}" needs a declared type`);
    return [{ dtype: declared[0].dtype, shape: declared[0].shape }];
  },
});

/** Moves a tensor between devices; the only op whose output device differs from its input's. */
defineOp({
  name: 'transfer', kind: 'opaque', inputs: 1,
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
});

/** The contents of `v` when a const with its value inline produces it (a weight by reference has none here). */
export function constValue(v: Value | undefined): TensorData | undefined {
  return v?.producer?.op === 'const' ? attrsOf(v.producer, constAttrs).value : undefined;
}
