import { OpTypeError } from '../errors.js';
import { formatShapeType, type DType } from '../types.js';
import { defineOp, type ReductionMath } from './registry.js';
import { normalizeAxes } from './shape-util.js';

/** Output shape of reducing `axes` ([] means every axis). */
export function reducedShape(shape: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  const ax = axes.length === 0 ? shape.map((_, i) => i) : normalizeAxes(axes, shape.length);
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!ax.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;
const U32_MAX = 2 ** 32 - 1;

/**
 * A reduction's starting value `init` as a value of `dtype`: integer types have no infinities,
 * so max's -inf and min's +inf become the type's extremes. The CPU and the GPU start from it.
 */
export function identityIn(init: number, dtype: DType): number {
  if (dtype === 'i32') return Math.min(I32_MAX, Math.max(I32_MIN, init));
  if (dtype === 'u32') return Math.min(U32_MAX, Math.max(0, init));
  return init;
}

/** The attributes of the reductions with `reduce` math (sum, mean, max, min, prod). */
export const reduceAttrs = { axes: { kind: 'ints', default: [] }, keepdims: { kind: 'bool', default: false } } as const;

function defineReduction(name: string, reduce: ReductionMath): void {
  defineOp({
    name, kind: 'reduction', inputs: 1, reduce,
    attrs: reduceAttrs,
    infer: ([x], attrs) => {
      if (x!.dtype === 'bool') throw new OpTypeError('does not take bool');
      return [{ dtype: x!.dtype, shape: reducedShape(x!.shape, attrs.axes, attrs.keepdims) }];
    },
  });
}

// Reductions' `wgsl` combine must be associative and commutative: the workgroup-parallel GPU
// variant uses it both to fold elements and to merge partial results in any order.
defineReduction('sum', { init: 0, cpu: (acc, x) => acc + x, wgsl: (acc, x) => `${acc} + ${x}` });
defineReduction('mean', {
  init: 0, cpu: (acc, x) => acc + x, wgsl: (acc, x) => `${acc} + ${x}`,
  finish: { cpu: (acc, n) => acc / n, wgsl: (acc, n) => `${acc} / ${n}` },
});
// A NaN element makes the result NaN, as in PyTorch and ONNX (NumPy's max): the CPU takes a NaN
// and keeps it (nothing compares greater than NaN); WGSL's max/min would drop it, kiln_max keeps it.
const extremeOf = (fn: 'max' | 'min') => (acc: string, x: string, t: string) => (t === 'f32' ? `kiln_${fn}_f32(${acc}, ${x})` : `${fn}(${acc}, ${x})`);
const extremeHelpers = (fn: 'max' | 'min') => (t: string) => (t === 'f32' ? [`kiln_${fn}_f32`] : []);
defineReduction('max', {
  init: -Infinity, cpu: (acc, x) => (x > acc || Number.isNaN(x) ? x : acc), wgsl: extremeOf('max'), helpers: extremeHelpers('max'),
});
defineReduction('min', {
  init: Infinity, cpu: (acc, x) => (x < acc || Number.isNaN(x) ? x : acc), wgsl: extremeOf('min'), helpers: extremeHelpers('min'),
});
// Integer products wrap modulo 2^32 on the device; Math.imul wraps the same way (a double would
// round once the product passes 2^53).
defineReduction('prod', {
  init: 1,
  cpu: (acc, x, dtype) => (dtype === 'i32' || dtype === 'u32' ? Math.imul(acc, x) : acc * x),
  wgsl: (acc, x) => `${acc} * ${x}`,
});

/** Which extreme an arg-reduction looks for. */
export type ArgPick = 'max' | 'min';

/** The arg-reduction ops and what they pick. */
export const ARG_REDUCTIONS: Readonly<Record<string, ArgPick>> = { argmax: 'max', argmin: 'min' };

/** The attributes of argmax and argmin. */
export const argReduceAttrs = { axis: { kind: 'int' }, keepdims: { kind: 'bool', default: false }, select_last_index: { kind: 'bool', default: false } } as const;

// Index of the extreme along one axis, as i32. NaN counts as the extreme for both (PyTorch's
// argmax and argmin, and NumPy's, pick the first NaN). On ties the first index wins (PyTorch,
// and ONNX's default), or the last with select_last_index.
for (const [name, pick] of Object.entries(ARG_REDUCTIONS)) {
  defineOp({
    name, kind: 'reduction', inputs: 1,
    attrs: argReduceAttrs,
    infer: ([x], attrs) => {
      if (x!.dtype === 'bool') throw new OpTypeError('does not take bool');
      const axis = attrs.axis;
      const [a] = normalizeAxes([axis], x!.shape.length);
      if (x!.shape[a!] === 0) throw new OpTypeError(`axis ${axis} of ${formatShapeType(x!.dtype, x!.shape)} is empty: no ${pick} to find`);
      return [{ dtype: 'i32', shape: reducedShape(x!.shape, [axis], attrs.keepdims) }];
    },
  });
}
