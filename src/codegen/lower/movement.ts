import { transposePerm } from '../../ir/ops/movement.js';
import { stridesOf } from '../../ir/types.js';
import { emitElementwise } from '../kernels/elementwise.js';
import type { Lowering } from './lowering.js';

/** A transpose is a strided copy: the identity over the input read with permuted strides. */
const transpose: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const perm = transposePerm(x.shape.length, node.attrs.perm as number[]);
  const s = stridesOf(x.shape);
  return emitElementwise({
    name: 'transpose', operands: [{ dtype: x.dtype, strides: perm.map((p) => s[p]!) }],
    outDType: node.output.type.dtype, shape: node.output.type.shape, body: ([v]) => v!,
  });
};

export const movementLowerings: Record<string, Lowering> = { transpose };
