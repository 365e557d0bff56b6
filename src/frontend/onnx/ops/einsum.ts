// Einsum, planned in kiln ops by the frontends' shared einsum (einsum-plan.ts).
import { einsum, type EinsumOps } from '../../einsum-plan.js';
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp } from '../node.js';
import { makeConst } from '../tensor.js';
import { reshapeTo } from './helpers.js';

defineOnnxOp('Einsum', (n) => {
  const b = n.b;
  const equation = n.attrs.string('equation');
  if (equation === undefined) return n.fail("needs the attribute 'equation'");
  const xs = n.inputs.map((_, i) => n.input(i));
  if (typeOf(xs[0]!).dtype === 'bool') n.unsupported('does not take bool operands');
  const ops: EinsumOps<Operand> = {
    shape: (x) => typeOf(x).shape,
    transpose: (x, perm) => b.op('transpose', [x], { perm: [...perm] }),
    sum: (x, axes) => b.op('sum', [x], { axes: [...axes] }),
    mulConst: (x, shape, values) => b.op('mul', [x, makeConst('einsum_eye', typeOf(x).dtype, [...shape], [...values])]),
    expand: (x, shape) => b.op('expand', [x], { shape: [...shape] }),
    matmul: (x, y) => b.op('matmul', [x, y]),
    reshape: (x, shape) => reshapeTo(b, x, shape),
    fail: (message) => n.fail(message),
  };
  return einsum(ops, equation, xs);
});
