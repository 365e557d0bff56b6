import { getOp } from '../../ir/ops/index.js';
import { normalizeAxes } from '../../ir/ops/shape-util.js';
import { stridesOf } from '../../ir/types.js';
import { emitReduce } from '../kernels/reduce.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';

/** Any op with reduction math, over any axes. */
export const lowerReduction = (node: Node): EmittedKernel => {
  const x = node.inputs[0]!.type;
  const axesAttr = node.attrs.axes as number[];
  const axes = axesAttr.length ? normalizeAxes(axesAttr, x.shape.length) : x.shape.map((_, i) => i);
  const strides = stridesOf(x.shape);
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const reduced = [...axes].sort((a, b) => a - b);
  return emitReduce({
    name: node.op, dtype: node.output.type.dtype, math: getOp(node.op).spec.reduce!,
    keptShape: kept.map((i) => x.shape[i]!), keptStrides: kept.map((i) => strides[i]!),
    reducedShape: reduced.map((i) => x.shape[i]!), reducedStrides: reduced.map((i) => strides[i]!),
  });
};
