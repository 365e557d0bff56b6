import { OpTypeError } from '../errors.js';
import { numel } from '../types.js';
import { defineOp } from './registry.js';

/** Permutation of a transpose: the given one, or all axes reversed. */
export function transposePerm(rank: number, perm: readonly number[]): number[] {
  if (perm.length === 0) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    throw new OpTypeError(`perm [${perm.join(',')}] is not a permutation of ${rank} axes`);
  }
  return [...perm];
}

defineOp({
  name: 'transpose', kind: 'movement', inputs: 1,
  attrs: { perm: { kind: 'ints', default: [] } },
  infer: ([x], attrs) => {
    const perm = transposePerm(x!.shape.length, attrs.perm as number[]);
    return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }];
  },
});

/** Target shape of a reshape: at most one -1, inferred from the element count. */
export function resolveReshape(from: readonly number[], to: readonly number[]): number[] {
  const n = numel(from);
  const holes = to.filter((d) => d === -1).length;
  if (holes > 1) throw new OpTypeError(`shape [${to.join(',')}] has more than one -1`);
  if (to.some((d) => d < -1)) throw new OpTypeError(`shape [${to.join(',')}] has a negative extent`);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (numel(out) !== n || out.some((d) => !Number.isInteger(d))) {
    throw new OpTypeError(`cannot reshape [${from.join(',')}] (${n} elements) to [${to.join(',')}]`);
  }
  return out;
}

defineOp({
  name: 'reshape', kind: 'movement', inputs: 1,
  attrs: { shape: { kind: 'ints' } },
  infer: ([x], attrs) => [{ dtype: x!.dtype, shape: resolveReshape(x!.shape, attrs.shape as number[]) }],
});
