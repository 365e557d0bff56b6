import { concatAttrs, concatLayout, splitAttrs, splitLayout } from '../../../ir/ops/concat-split.js';
import { stridesOf } from '../../../ir/types.js';
import { copyStrided } from './copy.js';
import { alloc, type CpuKernel } from './kernel.js';
import { attrsOf } from '../../../ir/attrs.js';

/** Each input is copied into its slab of the output along the axis. */
const concat: CpuKernel = (node, inputs) => {
  const out = alloc(node.output.type);
  const { axis, offsets } = concatLayout(inputs.map((x) => x.shape), attrsOf(node, concatAttrs).axis);
  const os = stridesOf(out.shape);
  inputs.forEach((x, k) => {
    copyStrided(x.shape, { data: x.data, offset: 0, strides: stridesOf(x.shape) }, { data: out.data, offset: offsets[k]! * os[axis]!, strides: os });
  });
  return [out];
};

/** Each output is copied from its slab of the input along the axis. */
const split: CpuKernel = (node, [x]) => {
  const a = attrsOf(node, splitAttrs);
  const { axis, offsets } = splitLayout(x!.shape, a.axis, a.sizes);
  const xs = stridesOf(x!.shape);
  return node.outputs.map((v, k) => {
    const out = alloc(v.type);
    copyStrided(out.shape, { data: x!.data, offset: offsets[k]! * xs[axis]!, strides: xs }, { data: out.data, offset: 0, strides: stridesOf(out.shape) });
    return out;
  });
};

export const concatSplitKernels: Record<string, CpuKernel> = { concat, split };
