import { concatLayout, splitLayout } from '../../ir/ops/concat-split.js';
import { numel, stridesOf } from '../../ir/types.js';
import { emitCopy } from '../kernels/copy.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import type { Lowering } from './lowering.js';

/** One copy per non-empty input into its slab of the output; bindings (input k, output). */
const concat: Lowering = (node) => {
  const shapes = node.inputs.map((v) => v.type.shape);
  const { axis, offsets } = concatLayout(shapes, node.attrs.axis as number);
  const out = node.output.type;
  const os = stridesOf(out.shape);
  const kernels: EmittedKernel[] = [];
  shapes.forEach((s, k) => {
    if (numel(s) === 0) return;
    kernels.push({
      ...emitCopy({ name: 'concat', dtype: out.dtype, shape: s, src: { offset: 0, strides: stridesOf(s) }, dst: { offset: offsets[k]! * os[axis]!, strides: os } }),
      bindings: [k, node.inputs.length],
    });
  });
  return kernels;
};

/** One copy per non-empty output from its slab of the input; bindings (input, output k). */
const split: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const { axis, offsets } = splitLayout(x.shape, node.attrs.axis as number, node.attrs.sizes as number[]);
  const xs = stridesOf(x.shape);
  const kernels: EmittedKernel[] = [];
  node.outputs.forEach((v, k) => {
    const s = v.type.shape;
    if (numel(s) === 0) return;
    kernels.push({
      ...emitCopy({ name: 'split', dtype: x.dtype, shape: s, src: { offset: offsets[k]! * xs[axis]!, strides: xs }, dst: { offset: 0, strides: stridesOf(s) } }),
      bindings: [0, 1 + k],
    });
  });
  return kernels;
};

export const concatSplitLowerings: Record<string, Lowering> = { concat, split };
