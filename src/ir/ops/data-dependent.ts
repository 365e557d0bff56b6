// Ops whose result extent depends on the values they read, not only on shapes: NonZero, Unique
// and NonMaxSuppression. The extent is a size variable of its own (named by the node's `size`
// attribute, which Graph.addNode fills in as `<op>_<id>` when absent), ranging over what the op
// can produce; buffers are sized for its top and a run binds it from the CPU kernel's actual
// result. Inherently sequential and data-dependent: CPU ops, placed between WebGPU segments.
import { OpTypeError } from '../errors.js';
import { dimRange, dNumel, sizeVar, type Dim } from '../size-expr.js';
import { formatShapeType, type TensorType } from '../types.js';
import { defineOp } from './registry.js';
import { normalizeAxes } from './shape-util.js';

/** The `size` attribute every data-dependent op has: the name of its result's size variable. */
const sizeAttr = { size: { kind: 'string', optional: true } } as const;

/** The size variable named by `attrs.size`, over min..max. */
function resultSize(attrs: { readonly size?: string }, min: number, max: number): Dim {
  if (attrs.size === undefined) throw new OpTypeError('internal: a data-dependent op without its size name');
  return sizeVar(attrs.size, min, max);
}

/** Largest element count of an operand of these extents. */
const maxNumel = (dims: readonly Dim[]): number => dimRange(dNumel(dims))[1];

/**
 * ONNX NonZero: the indices of the elements that are not zero (NaN is not zero), as a
 * [rank, K] i32 tensor in row-major order of the elements; K is in 0..numel.
 */
defineOp({
  name: 'nonzero', kind: 'opaque', inputs: 1, producesSize: true,
  attrs: sizeAttr,
  infer: ([x]) => {
    if (x!.shape.length === 0) throw new OpTypeError(`needs an input of rank at least 1, got ${formatShapeType(x!.dtype, x!.shape)}`);
    return [{ dtype: 'i32', shape: [x!.shape.length, maxNumel(x!.shape)] }];
  },
  dims: ([x], attrs) => [[x!.length, resultSize(attrs, 0, maxNumel(x!))]],
});

/** unique's attributes: `axis` absent flattens the input first. */
export const uniqueAttrs = { ...sizeAttr, sorted: { kind: 'bool', default: true }, axis: { kind: 'int', optional: true } } as const;

/** The extent unique works along (the element count when flattened) and the result's extents with it set to `k`. */
export function uniqueLayout(x: readonly Dim[], axis: number | undefined): { readonly along: Dim; readonly withExtent: (k: Dim) => Dim[] } {
  if (axis === undefined) return { along: dNumel(x), withExtent: (k) => [k] };
  const [a] = normalizeAxes([axis], x.length);
  return { along: x[a!]!, withExtent: (k) => x.map((d, i) => (i === a ? k : d)) };
}

function uniqueInfer(x: TensorType, axis: number | undefined): void {
  if (x.dtype === 'f16') throw new OpTypeError('does not take f16 (cast it to f32 first)');
  if (axis !== undefined && x.shape.length === 0) throw new OpTypeError('needs an input of rank at least 1 with an axis');
}

/**
 * ONNX Unique: the distinct elements (or slices along `axis`) Y, sorted ascending or in order
 * of first occurrence; the index of each one's first occurrence, the index into Y of every
 * input element (or slice), and how often each occurs. NaN equals NaN here (one NaN in Y, sorted
 * last), as NumPy's unique has it. K is in 1..n for n elements (slices), 0 when there are none.
 */
defineOp({
  name: 'unique', kind: 'opaque', inputs: 1, producesSize: true,
  attrs: uniqueAttrs,
  infer: ([x], attrs) => {
    uniqueInfer(x!, attrs.axis);
    const { along, withExtent } = uniqueLayout(x!.shape, attrs.axis);
    const n = along as number;
    const k = [n];
    return [
      { dtype: x!.dtype, shape: withExtent(n) as number[] },
      { dtype: 'i32', shape: k }, { dtype: 'i32', shape: [n] }, { dtype: 'i32', shape: k },
    ];
  },
  dims: ([x], attrs) => {
    const { along, withExtent } = uniqueLayout(x!, attrs.axis);
    const [lo, hi] = dimRange(along);
    const k = resultSize(attrs, Math.min(1, lo), hi);
    return [withExtent(k), [k], [along], [k]];
  },
});

/** non_max_suppression's attributes: `center_point_box` says boxes are [x_center, y_center, width, height]. */
export const nmsAttrs = { ...sizeAttr, center_point_box: { kind: 'bool', default: false } } as const;

/**
 * ONNX NonMaxSuppression: boxes [B, S, 4], scores [B, C, S], max_output_boxes_per_class,
 * iou_threshold and (optionally) score_threshold as one-element tensors. Per batch and class,
 * greedily keeps the best-scoring boxes (ties: the lower index first) whose IoU with every box
 * kept before is at most the threshold, above the score threshold, up to the maximum. Gives
 * [K, 3] i32 rows (batch, class, box); K is in 0..B*C*S.
 */
defineOp({
  name: 'non_max_suppression', kind: 'opaque', inputs: [4, 5], producesSize: true,
  attrs: nmsAttrs,
  infer: ([boxes, scores, maxOut, iou, scoreMin]) => {
    const [b, s, c] = nmsExtents(boxes!, scores!);
    if (maxOut!.dtype !== 'i32' || maxOut!.shape.reduce((p, d) => p * d, 1) !== 1) throw new OpTypeError(`max_output_boxes_per_class must be one i32, got ${formatShapeType(maxOut!.dtype, maxOut!.shape)}`);
    for (const t of [iou!, ...(scoreMin ? [scoreMin] : [])]) {
      if (t.dtype !== 'f32' || t.shape.reduce((p, d) => p * d, 1) !== 1) throw new OpTypeError(`thresholds must be one f32 each, got ${formatShapeType(t.dtype, t.shape)}`);
    }
    return [{ dtype: 'i32', shape: [b * c * s, 3] }];
  },
  dims: ([boxes, scores], attrs) => [[resultSize(attrs, 0, maxNumel([boxes![0]!, boxes![1]!, scores![1]!])), 3]],
});

function nmsExtents(boxes: TensorType, scores: TensorType): [number, number, number] {
  const [b, s, four] = boxes.shape;
  const ok = boxes.dtype === 'f32' && scores.dtype === 'f32' && boxes.shape.length === 3 && four === 4 && scores.shape.length === 3 && scores.shape[0] === b && scores.shape[2] === s;
  if (!ok) throw new OpTypeError(`needs f32 boxes [B, S, 4] and scores [B, C, S], got ${formatShapeType(boxes.dtype, boxes.shape)} and ${formatShapeType(scores.dtype, scores.shape)}`);
  return [b!, s!, scores.shape[1]!];
}
