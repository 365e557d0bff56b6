import { getOp } from '../../ir/ops/index.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitElementwise } from '../kernels/elementwise.js';
import { wgslType } from '../wgsl.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';

/** Any op with scalar math: one flat kernel with broadcast strides. */
export const lowerElementwise = (node: Node): EmittedKernel => {
  const math = getOp(node.op).spec.math!;
  const out = node.output.type;
  const t = wgslType(out.dtype);
  return emitElementwise({
    name: node.op,
    operands: node.inputs.map((v) => ({ dtype: v.type.dtype, strides: broadcastStrides(v.type.shape, out.shape) })),
    outDType: out.dtype,
    shape: out.shape,
    body: (xs) => math.wgsl(xs, t, node.attrs, node.inputs.map((v) => wgslType(v.type.dtype))),
  });
};
