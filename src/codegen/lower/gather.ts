import { gatherLayout } from '../../ir/ops/gather.js';
import type { Node } from '../../ir/graph.js';
import { numel } from '../../ir/types.js';
import { emitGather } from '../kernels/gather.js';
import type { Lowering } from './lowering.js';

/** One gather kernel over the data viewed as [outer, extent, inner] around `axis`. */
function lowerGather(node: Node, axis: number) {
  const [data, indices] = node.inputs.map((v) => v.type);
  const { outer, extent, inner } = gatherLayout(data!.shape, indices!.shape, axis);
  return emitGather({ name: node.op, dtype: data!.dtype, outer, extent, inner, count: numel(indices!.shape), sources: { data: 0, indices: 1, out: 2 } });
}

const gather: Lowering = (node) => lowerGather(node, node.attrs.axis as number);
/** An embedding lookup is a gather along axis 0 of the weight. */
const embedding: Lowering = (node) => lowerGather(node, 0);

export const gatherLowerings: Record<string, Lowering> = { gather, embedding };
