import { OpTypeError } from '../errors.js';
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

function defineReduction(name: string, reduce: ReductionMath): void {
  defineOp({
    name, kind: 'reduction', inputs: 1, reduce,
    attrs: { axes: { kind: 'ints', default: [] }, keepdims: { kind: 'bool', default: false } },
    infer: ([x], attrs) => {
      if (x!.dtype === 'bool') throw new OpTypeError('does not take bool');
      return [{ dtype: x!.dtype, shape: reducedShape(x!.shape, attrs.axes as number[], attrs.keepdims as boolean) }];
    },
  });
}

defineReduction('sum', { init: 0, cpu: (acc, x) => acc + x, wgsl: (acc, x) => `${acc} + ${x}` });
defineReduction('mean', {
  init: 0, cpu: (acc, x) => acc + x, wgsl: (acc, x) => `${acc} + ${x}`,
  finish: { cpu: (acc, n) => acc / n, wgsl: (acc, n) => `${acc} / ${n}` },
});
