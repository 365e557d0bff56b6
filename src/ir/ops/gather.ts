import { OpTypeError } from '../errors.js';
import { numel, type Shape, type TensorType } from '../types.js';
import { defineOp } from './registry.js';
import { normalizeAxes } from './shape-util.js';

/**
 * The data viewed as [outer, axis extent, inner] around the gathered axis, and the output
 * shape data.shape[:axis] + indices.shape + data.shape[axis+1:] (ONNX Gather).
 */
export function gatherLayout(data: Shape, indices: Shape, axis: number): { axis: number; outer: number; extent: number; inner: number; shape: number[] } {
  if (data.length === 0) throw new OpTypeError('cannot gather from a scalar');
  const a = normalizeAxes([axis], data.length)[0]!;
  const extent = data[a]!;
  if (extent === 0 && numel(indices) > 0) throw new OpTypeError(`axis ${a} of [${data.join(',')}] is empty: every index would be out of range`);
  return {
    axis: a, outer: numel(data.slice(0, a)), extent, inner: numel(data.slice(a + 1)),
    shape: [...data.slice(0, a), ...indices, ...data.slice(a + 1)],
  };
}

/** Index operands are i32 (the importer narrows ONNX's int64, range-checked). */
export function checkIndices(indices: TensorType): void {
  if (indices.dtype !== 'i32') throw new OpTypeError(`indices must be i32 (ONNX int64 is lowered to i32), got ${indices.dtype}`);
}

/** gather's attributes. */
export const gatherAttrs = { axis: { kind: 'int', default: 0 } } as const;

/** ONNX Gather: picks slices along `axis` by index; negative indices count from the end. */
defineOp({
  name: 'gather', kind: 'opaque', inputs: 2,
  attrs: gatherAttrs,
  infer: ([data, indices], attrs) => {
    checkIndices(indices!);
    return [{ dtype: data!.dtype, shape: gatherLayout(data!.shape, indices!.shape, attrs.axis).shape }];
  },
});

/** PyTorch's embedding lookup, (weight [V, D], indices) -> indices.shape + [D]: a gather on axis 0. */
defineOp({
  name: 'embedding', kind: 'opaque', inputs: 2,
  infer: ([weight, indices]) => {
    checkIndices(indices!);
    if (weight!.shape.length !== 2) throw new OpTypeError(`weight must be 2-D [num_embeddings, dim], got [${weight!.shape.join(',')}]`);
    return [{ dtype: weight!.dtype, shape: gatherLayout(weight!.shape, indices!.shape, 0).shape }];
  },
});
