import { channelShuffleView, transposePerm } from '../../ir/ops/movement.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { numel, stridesOf } from '../../ir/types.js';
import { emitCopy } from '../kernels/copy.js';
import { emitElementwise } from '../kernels/elementwise.js';
import type { Lowering } from './lowering.js';

/** A transpose is a strided copy: the identity over the input read with permuted strides. */
const transpose: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const perm = transposePerm(x.shape.length, node.attrs.perm as number[]);
  const s = stridesOf(x.shape);
  return emitElementwise({
    name: 'transpose', operands: [{ dtype: x.dtype, strides: perm.map((p) => s[p]!), source: 0 }], out: 1,
    outDType: node.output.type.dtype, shape: node.output.type.shape, body: ([v]) => v!,
  });
};

/**
 * Reshape and its relatives normally alias their input (`aliasesInput` in the op registry) and get
 * no kernel; this flat copy is for a schedule that needs a separate buffer.
 */
const flatCopy: Lowering = (node) => {
  const n = numel(node.output.type.shape);
  return emitCopy({ name: node.op, dtype: node.output.type.dtype, shape: [n], sources: { src: 0, dst: 1 }, src: { offset: 0, strides: [1] }, dst: { offset: 0, strides: [1] } });
};

/** Expand reads the input with broadcast (zero) strides. */
const expand: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const out = node.output.type;
  return emitCopy({
    name: 'expand', dtype: out.dtype, shape: out.shape, sources: { src: 0, dst: 1 },
    src: { offset: 0, strides: broadcastStrides(x.shape, out.shape) }, dst: { offset: 0, strides: stridesOf(out.shape) },
  });
};

/** A channel shuffle is one permuted copy over the [N, C/g, g, rest] view of the output. */
const channelShuffle: Lowering = (node) => {
  const view = channelShuffleView(node.inputs[0]!.type.shape, node.attrs.groups as number);
  return emitCopy({
    name: 'channel_shuffle', dtype: node.output.type.dtype, shape: view.shape, sources: { src: 0, dst: 1 },
    src: { offset: 0, strides: view.inStrides }, dst: { offset: 0, strides: stridesOf(view.shape) },
  });
};

export const movementLowerings: Record<string, Lowering> = {
  transpose, reshape: flatCopy, flatten: flatCopy, squeeze: flatCopy, unsqueeze: flatCopy, expand, channel_shuffle: channelShuffle,
};
