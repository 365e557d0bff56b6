import { gatherLayout } from '../../ir/ops/gather.js';
import { gatherAttrs } from '../../ir/ops/gather.js';
import { attrsOf } from '../../ir/attrs.js';
import type { Node } from '../../ir/graph.js';
import { dimsOf } from '../../ir/types.js';
import { dNumel } from '../../ir/size-expr.js';
import { emitGather } from '../kernels/gather.js';
import { emitGatherElements, emitScatterElements, type ScatterReduction } from '../kernels/gather-elements.js';
import { elementsAxis, gatherElementsAttrs, gatherNdAttrs, scatterElementsAttrs, scatterNdAttrs } from '../../ir/ops/indexing.js';
import { emitGatherNd, emitScatterNd, ndKernelLayout } from '../kernels/gather-nd.js';
import type { Lowering } from './lowering.js';

/** One gather kernel over the data viewed as [outer, extent, inner] around `axis`, its extents from the values' dims. */
function lowerGather(node: Node, axis: number) {
  const [data, indices] = node.inputs.map((v) => v.type);
  const a = gatherLayout(data!.shape, indices!.shape, axis).axis;
  const dims = dimsOf(data!);
  return emitGather({
    name: node.op, dtype: data!.dtype, outer: dNumel(dims.slice(0, a)), extent: dims[a]!, inner: dNumel(dims.slice(a + 1)),
    count: dNumel(dimsOf(indices!)), sources: { data: 0, indices: 1, out: 2 },
  });
}

const gather: Lowering = (node) => lowerGather(node, attrsOf(node, gatherAttrs).axis);
/** An embedding lookup is a gather along axis 0 of the weight. */
const embedding: Lowering = (node) => lowerGather(node, 0);

/** gather_elements: one kernel over the output (the indices' shape), its extents from the values' dims. */
const gatherElements: Lowering = (node) => {
  const [data, indices] = node.inputs.map((v) => v.type);
  return emitGatherElements({
    name: node.op, dtype: data!.dtype, data: dimsOf(data!), indices: dimsOf(indices!),
    axis: elementsAxis(data!.shape, indices!.shape, attrsOf(node, gatherElementsAttrs).axis), sources: { data: 0, indices: 1, out: 2 },
  });
};

/** scatter_elements: one kernel over the output (the data's shape), its extents from the values' dims. */
const scatterElements: Lowering = (node) => {
  const [data, indices] = node.inputs.map((v) => v.type);
  const { axis, reduction } = attrsOf(node, scatterElementsAttrs);
  return emitScatterElements({
    name: node.op, dtype: data!.dtype, data: dimsOf(data!), indices: dimsOf(indices!), axis: elementsAxis(data!.shape, indices!.shape, axis),
    reduction: reduction as ScatterReduction, sources: { data: 0, indices: 1, updates: 2, out: 3 },
  });
};

/** gather_nd and scatter_nd: one kernel each, over the output, the index tuples' length fixed (the indices' last extent). */
const gatherNd: Lowering = (node) => {
  const [data, indices] = node.inputs.map((v) => v.type);
  const k = indices!.shape[indices!.shape.length - 1]!;
  const layout = ndKernelLayout(dimsOf(data!), dimsOf(indices!), attrsOf(node, gatherNdAttrs).batch_dims);
  return emitGatherNd({ name: node.op, dtype: data!.dtype, layout, k, sources: { data: 0, indices: 1, out: 2 } });
};

const scatterNd: Lowering = (node) => {
  const [data, indices] = node.inputs.map((v) => v.type);
  const k = indices!.shape[indices!.shape.length - 1]!;
  const reduction = attrsOf(node, scatterNdAttrs).reduction as ScatterReduction;
  return emitScatterNd({ name: node.op, dtype: data!.dtype, layout: ndKernelLayout(dimsOf(data!), dimsOf(indices!), 0), k, reduction, sources: { data: 0, indices: 1, updates: 2, out: 3 } });
};

export const gatherLowerings: Record<string, Lowering> = {
  gather, embedding, gather_elements: gatherElements, scatter_elements: scatterElements, gather_nd: gatherNd, scatter_nd: scatterNd,
};
