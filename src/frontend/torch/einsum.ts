import { KilnError } from '../../ir/errors.js';
import { isFloat } from '../../ir/types.js';
import { einsum as plan, type EinsumOps } from '../einsum-plan.js';
import { hostTensorData } from './host-values.js';
import type { Tensor } from './tensor.js';

const ops: EinsumOps<Tensor> = {
  shape: (x) => x.shape,
  transpose: (x, perm) => x.permute([...perm]),
  sum: (x, axes) => x.sum([...axes]),
  mulConst: (x, shape, values) => x.mul(x.constantLike(hostTensorData(x.dtype, shape, values))),
  expand: (x, shape) => x.expand(...shape),
  matmul: (a, b) => a.matmul(b),
  reshape: (x, shape) => x.reshape([...shape]),
  fail: (message) => { throw new KilnError(`einsum(): ${message}`); },
};

/**
 * Sums the product of the operands' elements along the labels the equation leaves out, as
 * torch.einsum: `einsum('bhqd,bhkd->bhqk', q, k)`. One ellipsis per term; without '->', the
 * output is the ellipsis axes, then the labels used once, alphabetically. Differentiable (it is
 * transposes, reshapes, sums and batched matmuls).
 */
export function einsum(equation: string, ...operands: (Tensor | readonly Tensor[])[]): Tensor {
  // torch.einsum takes the operands spread or as one list.
  const xs = operands.length === 1 && Array.isArray(operands[0]) ? [...(operands[0] as readonly Tensor[])] : (operands as Tensor[]);
  if (!xs.length) throw new KilnError('einsum(): needs at least one operand');
  const dtype = xs[0]!.dtype;
  if (!isFloat(dtype) && dtype !== 'i32') throw new KilnError(`einsum(): operands must be float or int32, got ${dtype}`);
  const other = xs.find((x) => x.dtype !== dtype);
  if (other) throw new KilnError(`einsum(): operands must share a dtype, got ${dtype} and ${other.dtype}`);
  return plan(ops, equation, xs);
}
