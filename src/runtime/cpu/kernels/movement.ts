import { broadcastStrides } from '../../../ir/ops/shape-util.js';
import { channelShuffleAttrs, channelShuffleView, transposeAttrs, transposePerm } from '../../../ir/ops/movement.js';
import { stridesOf } from '../../../ir/types.js';
import { forEachIndex } from '../indexing.js';
import { copyStrided } from './copy.js';
import { alloc, type CpuKernel } from './kernel.js';
import { attrsOf } from '../../../ir/attrs.js';

const transpose: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const perm = transposePerm(x!.shape.length, attrsOf(node, transposeAttrs).perm);
  const s = stridesOf(x!.shape);
  forEachIndex(out.shape, [perm.map((p) => s[p]!)], (i, [o]) => { out.data[i] = x!.data[o!]!; });
  return [out];
};

/** Reshape and its relatives keep the data as is and change only the shape. */
const reshape: CpuKernel = (node, [x]) => [{ ...x!, shape: [...node.output.type.shape] }];

const expand: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const s = broadcastStrides(x!.shape, out.shape);
  forEachIndex(out.shape, [s], (i, [o]) => { out.data[i] = x!.data[o!]!; });
  return [out];
};

const channelShuffle: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const view = channelShuffleView(x!.shape, attrsOf(node, channelShuffleAttrs).groups);
  copyStrided(view.shape, { data: x!.data, offset: 0, strides: view.inStrides }, { data: out.data, offset: 0, strides: stridesOf(view.shape) });
  return [out];
};

export const movementKernels: Record<string, CpuKernel> = {
  transpose, reshape, flatten: reshape, squeeze: reshape, unsqueeze: reshape, expand, channel_shuffle: channelShuffle,
};
