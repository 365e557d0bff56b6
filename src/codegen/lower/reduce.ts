import { getOp } from '../../ir/ops/index.js';
import { ARG_REDUCTIONS } from '../../ir/ops/reduce.js';
import { normalizeAxes } from '../../ir/ops/shape-util.js';
import { stridesOf } from '../../ir/types.js';
import { emitReduce, type ReduceKernelSpec } from '../kernels/reduce.js';
import type { Epilogue } from '../kernels/epilogue.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import type { Lowering } from './lowering.js';

/** Kept and reduced dimensions of `shape` as extents and input strides (reduced in ascending order). */
function reductionLayout(shape: readonly number[], axes: readonly number[]) {
  const strides = stridesOf(shape);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const reduced = [...axes].sort((a, b) => a - b);
  return {
    keptShape: kept.map((i) => shape[i]!), keptStrides: kept.map((i) => strides[i]!),
    reducedShape: reduced.map((i) => shape[i]!), reducedStrides: reduced.map((i) => strides[i]!),
  };
}

/**
 * Any op with reduction math, over any axes; optionally computing an elementwise `prologue` over
 * operands laid out like its input as it reads them, and an `epilogue` on each result.
 */
export const lowerReduction = (node: Node, epilogue?: Epilogue, prologue?: ReduceKernelSpec['prologue']): EmittedKernel => {
  const x = node.inputs[0]!.type;
  const axesAttr = node.attrs.axes as number[];
  const axes = axesAttr.length ? normalizeAxes(axesAttr, x.shape.length) : x.shape.map((_, i) => i);
  const name = [prologue ? 'prologue' : '', node.op, epilogue?.name ?? ''].filter(Boolean).join('_');
  return emitReduce({
    name, dtype: x.dtype, math: getOp(node.op).spec.reduce!, ...reductionLayout(x.shape, axes),
    ...(epilogue ? { epilogue } : {}), ...(prologue ? { prologue } : {}),
  });
};

/** argmax / argmin along one axis. */
const lowerArgReduction: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const axes = normalizeAxes([node.attrs.axis as number], x.shape.length);
  return emitReduce({
    name: node.op, dtype: x.dtype, arg: ARG_REDUCTIONS[node.op]!, lastIndex: node.attrs.select_last_index === true, ...reductionLayout(x.shape, axes),
  });
};

export const reduceLowerings: Record<string, Lowering> = Object.fromEntries(Object.keys(ARG_REDUCTIONS).map((op) => [op, lowerArgReduction]));
