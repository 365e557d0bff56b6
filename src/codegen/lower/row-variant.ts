import { dimRange, type Dim } from '../../ir/size-expr.js';
import type { DType } from '../../ir/types.js';
import { chooseReduceVariant, type ReduceVariant } from '../kernels/reduce.js';
import type { LowerContext } from './lowering.js';

/**
 * The variant of a reduction or row kernel (reductions, softmax, layer_norm) reducing `count`
 * elements into each of `outputs` results: the size rule's (chooseReduceVariant) unless a chooser
 * (`--tune`, kernel A/B runs) picks the other. Offered rule first, so an adapter class without a
 * rule of its own keeps it. The signature is `OP:dtype:OUTPUTSxCOUNT` (sizes that vary at their
 * largest), the problem micro-graphs.ts poses to time them.
 */
export function rowVariant(ctx: LowerContext | undefined, family: string, op: string, dtype: DType, outputs: Dim, count: Dim): ReduceVariant {
  const rule = chooseReduceVariant(outputs, count);
  const variants: ReduceVariant[] = [rule, rule === 'workgroup' ? 'invocation' : 'workgroup'];
  const pick = ctx?.choose?.(family, `${op}:${dtype}:${dimRange(outputs)[1]}x${dimRange(count)[1]}`, variants);
  return variants.find((v) => v === pick) ?? rule;
}
