import { broadcastStrides } from '../../../ir/ops/shape-util.js';
import { channelShuffleAttrs, channelShuffleView, transposeAttrs, transposePerm } from '../../../ir/ops/movement.js';
import { stridesOf, type TypedArray } from '../../../ir/types.js';
import { forEachIndex } from '../indexing.js';
import { copyStrided } from './copy.js';
import { alloc, type CpuKernel } from './kernel.js';
import { attrsOf } from '../../../ir/attrs.js';

const transpose: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const perm = transposePerm(x!.shape.length, attrsOf(node, transposeAttrs).perm);
  if (perm.length === 2 && perm[0] === 1) {
    transposeMatrix(x!.data, out.data, x!.shape[0]!, x!.shape[1]!);
    return [out];
  }
  const s = stridesOf(x!.shape);
  forEachIndex(out.shape, [perm.map((p) => s[p]!)], (i, [o]) => { out.data[i] = x!.data[o!]!; });
  return [out];
};

/**
 * `dst` [c, r] = `src` [r, c] transposed, in square tiles so that both sides stay in cache (a
 * fully connected layer's weight is transposed so, and has 100 million elements in VGG).
 */
function transposeMatrix(src: TypedArray, dst: TypedArray, r: number, c: number): void {
  const T = 64;
  for (let i0 = 0; i0 < r; i0 += T) {
    const i1 = Math.min(r, i0 + T);
    for (let j0 = 0; j0 < c; j0 += T) {
      const j1 = Math.min(c, j0 + T);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) dst[j * r + i] = src[i * c + j]!;
    }
  }
}

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
