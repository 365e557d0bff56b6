import { OpTypeError } from '../errors.js';
import { isFloat, type Shape } from '../types.js';
import { defineOp } from './registry.js';
import { normalizeAxes } from './shape-util.js';
import { dMul, dNumel, type Dim } from '../size-expr.js';

/**
 * A tensor seen as rows along one axis: `rows` independent rows of `extent` elements each,
 * element j of row r at `(r / inner) * extent * inner + r % inner + j * inner`. The rows are
 * contiguous when `inner` is 1 (the axis is the last one).
 */
export interface AxisRows<D extends Dim = Dim> {
  readonly rows: D;
  readonly extent: D;
  readonly inner: D;
}

/** The rows of `shape` along `axis` (negative counts from the end). */
export function axisRows(shape: Shape, axis: number): AxisRows<number>;
export function axisRows(shape: readonly Dim[], axis: number): AxisRows;
export function axisRows(shape: readonly Dim[], axis: number): AxisRows {
  const [a] = normalizeAxes([axis], shape.length);
  const extent = shape[a!]!;
  const inner = dNumel(shape.slice(a! + 1));
  const outer = dNumel(shape.slice(0, a!));
  return { rows: dMul(outer, inner), extent, inner };
}

/** The attributes of softmax and log_softmax. */
export const softmaxAttrs = { axis: { kind: 'int', default: -1 } } as const;

// Softmax along one axis; both ops subtract the row's max first so exp never overflows.
for (const name of ['softmax', 'log_softmax']) {
  defineOp({
    name, kind: 'reduction', inputs: 1, precision: 'f32',
    attrs: softmaxAttrs,
    infer: ([x], attrs) => {
      if (!isFloat(x!.dtype)) throw new OpTypeError(`needs a float input, got ${x!.dtype}`);
      if (x!.shape.length === 0) throw new OpTypeError('needs an input of rank >= 1, got a scalar');
      normalizeAxes([attrs.axis], x!.shape.length);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  });
}
