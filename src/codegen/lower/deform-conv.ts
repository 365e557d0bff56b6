import { attrsOf } from '../../ir/attrs.js';
import { deformConvAttrs } from '../../ir/ops/deform-conv.js';
import { dimsOf } from '../../ir/types.js';
import { emitDeformConv } from '../kernels/deform-conv.js';
import type { Lowering } from './lowering.js';

/** deform_conv2d: one kernel over the output, an invocation per element. */
const deformConv2d: Lowering = (node) => {
  const [x, w] = node.inputs.map((v) => v.type);
  const a = attrsOf(node, deformConvAttrs);
  const pair = (v: readonly number[]) => [v[0]!, v[1]!] as const;
  return emitDeformConv({
    name: node.op, x: dimsOf(x!), out: dimsOf(node.output.type), kernel: [w!.shape[2]!, w!.shape[3]!], inPerGroup: w!.shape[1]!,
    groups: a.groups, offsetGroups: a.offset_groups, stride: pair(a.stride), dilation: pair(a.dilation), padding: pair(a.padding),
    sources: { x: 0, w: 1, offset: 2, bias: 3, mask: 4, out: 5 },
  });
};

export const deformConvLowerings: Record<string, Lowering> = { deform_conv2d: deformConv2d };
