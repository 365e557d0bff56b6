import { getOp } from '../../ir/ops/index.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitElementwise } from '../kernels/elementwise.js';
import { wgslHelperDecls } from '../kernels/wgsl-math.js';
import { wgslType } from '../wgsl.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';

/** Any op with scalar math: one flat kernel with broadcast strides. */
export const lowerElementwise = (node: Node): EmittedKernel => {
  const { math, operandStrides } = getOp(node.op).spec;
  const out = node.output.type;
  const t = wgslType(out.dtype);
  const inTypes = node.inputs.map((v) => wgslType(v.type.dtype));
  const strides = operandStrides?.(node.inputs.map((v) => v.type.shape), out.shape, node.attrs)
    ?? node.inputs.map((v) => broadcastStrides(v.type.shape, out.shape));
  return emitElementwise({
    name: node.op,
    operands: node.inputs.map((v, k) => ({ dtype: v.type.dtype, strides: strides[k]! })),
    outDType: out.dtype,
    shape: out.shape,
    body: (xs) => math!.wgsl(xs, t, node.attrs, inTypes),
    helpers: wgslHelperDecls(math!.helpers?.(t, inTypes, node.attrs) ?? []),
  });
};
