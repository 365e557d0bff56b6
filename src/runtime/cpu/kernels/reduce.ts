import { getOp } from '../../../ir/ops/index.js';
import { normalizeAxes } from '../../../ir/ops/shape-util.js';
import { numel, stridesOf } from '../../../ir/types.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';

/** Any op with reduction math, over any axes, accumulating in double precision. */
export const reduction: CpuKernel = (node, [x]) => {
  const red = getOp(node.op).spec.reduce!;
  const out = alloc(node.output.type);
  const rank = x!.shape.length;
  const axes = (node.attrs.axes as number[]).length ? normalizeAxes(node.attrs.axes as number[], rank) : x!.shape.map((_, i) => i);
  const kept = x!.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const strides = stridesOf(x!.shape);
  const keptShape = kept.map((i) => x!.shape[i]!);
  const redShape = axes.map((i) => x!.shape[i]!);
  const count = numel(redShape);
  const inner: number[] = [];
  forEachIndex(redShape, [axes.map((i) => strides[i]!)], (_, [o]) => inner.push(o!));
  forEachIndex(keptShape, [kept.map((i) => strides[i]!)], (i, [base]) => {
    let acc = red.init;
    for (const o of inner) acc = red.cpu(acc, x!.data[base! + o]!);
    out.data[i] = red.finish ? red.finish.cpu(acc, count) : acc;
  });
  return [out];
};
