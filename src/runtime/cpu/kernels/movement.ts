import { transposePerm } from '../../../ir/ops/movement.js';
import { stridesOf } from '../../../ir/types.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';

const transpose: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const perm = transposePerm(x!.shape.length, node.attrs.perm as number[]);
  const s = stridesOf(x!.shape);
  forEachIndex(out.shape, [perm.map((p) => s[p]!)], (i, [o]) => { out.data[i] = x!.data[o!]!; });
  return [out];
};

const reshape: CpuKernel = (node, [x]) => [{ ...x!, shape: [...node.output.type.shape] }];

export const movementKernels: Record<string, CpuKernel> = { transpose, reshape };
