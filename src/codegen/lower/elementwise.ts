import { getOp } from '../../ir/ops/index.js';
import { dimsOf } from '../../ir/types.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitElementwise } from '../kernels/elementwise.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { bodyFunction } from './body-function.js';

/** Any op with scalar math: one flat kernel with broadcast strides, each operand loaded once. */
export const lowerElementwise = (node: Node): EmittedKernel => {
  const { operandStrides } = getOp(node.op).spec;
  const out = node.output.type;
  const strides = operandStrides ? operandStrides(node.inputs.map((v) => dimsOf(v.type)), dimsOf(out), node.attrs) : node.inputs.map((v) => broadcastStrides(dimsOf(v.type), dimsOf(out)));
  const fn = bodyFunction('element', [node], node.inputs, node.output);
  return emitElementwise({
    name: node.op,
    operands: node.inputs.map((v, k) => ({ dtype: v.type.dtype, strides: strides[k]!, source: k })),
    outDType: out.dtype,
    shape: dimsOf(out),
    out: node.inputs.length,
    body: fn.call,
    helpers: fn.decls,
  });
};
