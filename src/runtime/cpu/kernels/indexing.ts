import { KilnError } from '../../../ir/errors.js';
import type { Node } from '../../../ir/graph.js';
import { elementsAxis, gatherElementsAttrs, gatherNdAttrs, ndLayout, SCATTER_REDUCTIONS, scatterNdAttrs } from '../../../ir/ops/indexing.js';
import type { TensorData } from '../../../ir/tensor-data.js';
import { stridesOf } from '../../../ir/types.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValues } from './values.js';
import { attrsOf } from '../../../ir/attrs.js';

/** An index resolved against its axis (negative counts from the end); out of range is an error naming the node. */
function resolveIndex(node: Node, raw: number, extent: number, axis: number): number {
  const idx = raw < 0 ? raw + extent : raw;
  if (idx < 0 || idx >= extent) {
    throw new KilnError(`${node.op} -> %${node.outputs[0]!.name}: index ${raw} is out of range for axis ${axis} of extent ${extent}`);
  }
  return idx;
}

/**
 * Visits every element of `indices` with the data offset it addresses: its own coordinates,
 * except on `axis`, where the index value is.
 */
function forEachElementTarget(node: Node, data: TensorData, indices: TensorData, visit: (i: number, offset: number) => void): void {
  const axis = elementsAxis(data.shape, indices.shape, attrsOf(node, gatherElementsAttrs).axis);
  const strides = stridesOf(data.shape);
  const across = strides.map((s, d) => (d === axis ? 0 : s));
  const extent = data.shape[axis]!;
  forEachIndex(indices.shape, [across], (i, [base]) => {
    visit(i, base! + resolveIndex(node, indices.data[i]!, extent, axis) * strides[axis]!);
  });
}

const gatherElements: CpuKernel = (node, [data, indices]) => {
  const out = alloc(node.output.type);
  forEachElementTarget(node, data!, indices!, (i, from) => { out.data[i] = data!.data[from]!; });
  return [out];
};

/** A copy of `data` with update u combined into the element at each offset `each` gives it, in update order. */
function scatterInto(node: Node, data: TensorData, updates: TensorData, each: (apply: (u: number, offset: number) => void) => void): TensorData[] {
  // scatter_elements and scatter_nd both name their reduction (read with the one they share).
  const combine = SCATTER_REDUCTIONS[attrsOf(node, scatterNdAttrs).reduction]!;
  const acc = Float64Array.from(hostValues(data));
  const ups = hostValues(updates);
  each((u, offset) => { acc[offset] = combine(acc[offset]!, ups[u]!, data.dtype); });
  return [storeValues(alloc(node.output.type), acc)];
}

const scatterElements: CpuKernel = (node, [data, indices, updates]) =>
  scatterInto(node, data!, updates!, (apply) => forEachElementTarget(node, data!, indices!, apply));

/**
 * Visits every index tuple of an _nd gather or scatter with its number `t` (row-major over
 * indices.shape[:-1]) and the offset of the data slice it addresses.
 */
function forEachNdTarget(node: Node, data: TensorData, indices: TensorData, batchDims: number, visit: (t: number, offset: number, slice: number) => void): void {
  const { k, batch, rows, slice } = ndLayout(data.shape, indices.shape, batchDims);
  const strides = stridesOf(data.shape);
  const batchStride = batchDims > 0 ? strides[batchDims - 1]! : 0; // elements per batch entry
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      const t = b * rows + r;
      let offset = b * batchStride;
      for (let j = 0; j < k; j++) {
        const axis = batchDims + j;
        offset += resolveIndex(node, indices.data[t * k + j]!, data.shape[axis]!, axis) * strides[axis]!;
      }
      visit(t, offset, slice);
    }
  }
}

const gatherNd: CpuKernel = (node, [data, indices]) => {
  const out = alloc(node.output.type);
  forEachNdTarget(node, data!, indices!, attrsOf(node, gatherNdAttrs).batch_dims, (t, from, slice) => {
    out.data.set(data!.data.subarray(from, from + slice), t * slice);
  });
  return [out];
};

const scatterNd: CpuKernel = (node, [data, indices, updates]) =>
  scatterInto(node, data!, updates!, (apply) => forEachNdTarget(node, data!, indices!, 0, (t, offset, slice) => {
    for (let e = 0; e < slice; e++) apply(t * slice + e, offset + e);
  }));

export const indexingKernels: Record<string, CpuKernel> = {
  gather_elements: gatherElements, scatter_elements: scatterElements, gather_nd: gatherNd, scatter_nd: scatterNd,
};
