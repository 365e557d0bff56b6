import { getOp } from '../../ir/ops/index.js';
import type { OpSpec } from '../../ir/ops/registry.js';
import { KilnError } from '../../ir/errors.js';
import { dimsOf, isDynamic } from '../../ir/types.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitElementwise } from '../kernels/elementwise.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { bodyFunction } from './body-function.js';

/** An op's own operand strides (batch_norm's per-channel parameters), computed from static shapes only. */
function staticOperandStrides(node: Node, rule: NonNullable<OpSpec['operandStrides']>): number[][] {
  const varying = [...node.inputs, node.output].find((v) => isDynamic(v.type));
  if (varying) throw new KilnError(`${node.op} %${node.output.name}: its operand layout is computed for fixed sizes only, but %${varying.name} varies`);
  return rule(node.inputs.map((v) => v.type.shape), node.output.type.shape, node.attrs);
}

/** Any op with scalar math: one flat kernel with broadcast strides, each operand loaded once. */
export const lowerElementwise = (node: Node): EmittedKernel => {
  const { operandStrides } = getOp(node.op).spec;
  const out = node.output.type;
  const strides = operandStrides ? staticOperandStrides(node, operandStrides) : node.inputs.map((v) => broadcastStrides(dimsOf(v.type), dimsOf(out)));
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
