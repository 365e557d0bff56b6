// Element-wise indexing: gathers and scatters whose indices address single elements (or, for
// the _nd forms, slices) of the data. Indices are i32 (ONNX int64 is lowered to i32); negative
// ones count from the end of their axis. Reference kernels check every index (an index out of
// range is an error, never a read or write elsewhere); their GPU kernels clamp a gather's index
// and drop a scatter's update that is out of range.
import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat, type DType, type Shape, type TensorType } from '../types.js';
import { defineOp } from './registry.js';
import { checkIndices } from './gather.js';
import { normalizeAxes } from './shape-util.js';

const fmt = (t: TensorType) => formatShapeType(t.dtype, t.shape);

/**
 * How a scatter combines an update with the element already there (ONNX's `reduction`): 'none'
 * overwrites (the last of duplicate indices wins), the others fold updates in index order.
 */
export const SCATTER_REDUCTIONS: Readonly<Record<string, (acc: number, x: number, dtype: DType) => number>> = {
  none: (_, x) => x,
  add: (acc, x) => acc + x,
  mul: (acc, x, d) => (isFloat(d) ? acc * x : Math.imul(acc, x)),
  max: (acc, x) => (Number.isNaN(acc) || Number.isNaN(x) ? NaN : Math.max(acc, x)),
  min: (acc, x) => (Number.isNaN(acc) || Number.isNaN(x) ? NaN : Math.min(acc, x)),
};

function checkReduction(reduction: string, dtype: DType): void {
  if (!(reduction in SCATTER_REDUCTIONS)) throw new OpTypeError(`reduction '${reduction}' is not one of ${Object.keys(SCATTER_REDUCTIONS).join(', ')}`);
  if (reduction !== 'none' && dtype === 'bool') throw new OpTypeError(`reduction '${reduction}' does not take bool data`);
}

/**
 * The axis of an element-wise gather or scatter, checked: `indices` has the data's rank and
 * no extent larger than the data's outside the axis (ONNX GatherElements / ScatterElements).
 */
export function elementsAxis(data: Shape, indices: Shape, axis: number): number {
  if (data.length === 0) throw new OpTypeError('needs data of rank at least 1, got a scalar');
  const a = normalizeAxes([axis], data.length)[0]!;
  if (indices.length !== data.length) throw new OpTypeError(`indices [${indices.join(',')}] must have the data's rank ${data.length}`);
  indices.forEach((d, i) => {
    if (i !== a && d > data[i]!) throw new OpTypeError(`indices [${indices.join(',')}] are larger than the data [${data.join(',')}] on axis ${i}`);
  });
  return a;
}

/** gather_elements' attributes. */
export const gatherElementsAttrs = { axis: { kind: 'int', default: 0 } } as const;

/** out[i][j][k] = data[index][j][k] on axis 0 (and so on): the output has the indices' shape. */
defineOp({
  name: 'gather_elements', kind: 'opaque', inputs: 2,
  attrs: gatherElementsAttrs,
  infer: ([data, indices], attrs) => {
    checkIndices(indices!);
    elementsAxis(data!.shape, indices!.shape, attrs.axis);
    return [{ dtype: data!.dtype, shape: indices!.shape }];
  },
});

/** scatter_elements' attributes. */
export const scatterElementsAttrs = { axis: { kind: 'int', default: 0 }, reduction: { kind: 'string', default: 'none' } } as const;

/** A copy of the data with out[index][j][k] combined with updates[i][j][k] on axis 0 (and so on). */
defineOp({
  name: 'scatter_elements', kind: 'opaque', inputs: 3,
  attrs: scatterElementsAttrs,
  infer: ([data, indices, updates], attrs) => {
    checkIndices(indices!);
    checkReduction(attrs.reduction, data!.dtype);
    if (updates!.dtype !== data!.dtype) throw new OpTypeError(`updates ${fmt(updates!)} must have the data's dtype ${data!.dtype}`);
    if (updates!.shape.join(',') !== indices!.shape.join(',')) throw new OpTypeError(`updates ${fmt(updates!)} must have the indices' shape [${indices!.shape.join(',')}]`);
    elementsAxis(data!.shape, indices!.shape, attrs.axis);
    return [{ dtype: data!.dtype, shape: data!.shape }];
  },
});

/**
 * The layout of an _nd gather or scatter: `indices` [...batch, ...rows, k] addresses slices
 * data[...batch, i0, ..., ik-1] of shape data.shape[batch + k:]. `rows` counts the index tuples per
 * batch entry, `slice` the elements per addressed slice; `shape` is the gathered result's
 * (indices.shape[:-1] + data.shape[batch + k:]), which is also the scatter's updates' shape.
 */
export function ndLayout(data: Shape, indices: Shape, batchDims: number): { k: number; batch: number; rows: number; slice: number; shape: number[] } {
  const q = indices.length;
  if (q === 0) throw new OpTypeError('indices must have rank at least 1, got a scalar');
  const k = indices[q - 1]!;
  if (batchDims < 0 || batchDims >= Math.min(q, data.length)) throw new OpTypeError(`batch_dims ${batchDims} must be below the ranks of the indices (${q}) and the data (${data.length})`);
  if (k < 1 || batchDims + k > data.length) throw new OpTypeError(`index tuples of length ${k} (the last extent of indices [${indices.join(',')}]) do not fit data [${data.join(',')}] after ${batchDims} batch dimension(s)`);
  for (let i = 0; i < batchDims; i++) {
    if (indices[i] !== data[i]) throw new OpTypeError(`batch dimension ${i} differs: indices [${indices.join(',')}] vs data [${data.join(',')}]`);
  }
  const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
  return {
    k, batch: prod(data.slice(0, batchDims)), rows: prod(indices.slice(batchDims, q - 1)), slice: prod(data.slice(batchDims + k)),
    shape: [...indices.slice(0, q - 1), ...data.slice(batchDims + k)],
  };
}

/** gather_nd's attributes. */
export const gatherNdAttrs = { batch_dims: { kind: 'int', default: 0 } } as const;

/** ONNX GatherND: the slices addressed by the index tuples in the last axis of `indices`. */
defineOp({
  name: 'gather_nd', kind: 'opaque', inputs: 2,
  attrs: gatherNdAttrs,
  infer: ([data, indices], attrs) => {
    checkIndices(indices!);
    return [{ dtype: data!.dtype, shape: ndLayout(data!.shape, indices!.shape, attrs.batch_dims).shape }];
  },
});

/** scatter_nd's attributes. */
export const scatterNdAttrs = { reduction: { kind: 'string', default: 'none' } } as const;

/** ONNX ScatterND: a copy of the data with the addressed slices combined with the updates. */
defineOp({
  name: 'scatter_nd', kind: 'opaque', inputs: 3,
  attrs: scatterNdAttrs,
  infer: ([data, indices, updates], attrs) => {
    checkIndices(indices!);
    checkReduction(attrs.reduction, data!.dtype);
    if (updates!.dtype !== data!.dtype) throw new OpTypeError(`updates ${fmt(updates!)} must have the data's dtype ${data!.dtype}`);
    const { shape } = ndLayout(data!.shape, indices!.shape, 0);
    if (updates!.shape.join(',') !== shape.join(',')) throw new OpTypeError(`updates ${fmt(updates!)} must have shape [${shape.join(',')}] (indices [${indices!.shape.join(',')}] into data [${data!.shape.join(',')}])`);
    return [{ dtype: data!.dtype, shape: data!.shape }];
  },
});
