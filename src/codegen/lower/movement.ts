import { channelShuffleAttrs, channelShuffleView, transposeAttrs, transposePerm } from '../../ir/ops/movement.js';
import { attrsOf } from '../../ir/attrs.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { dimsOf, stridesOf } from '../../ir/types.js';
import { dNumel } from '../../ir/size-expr.js';
import { emitCopy } from '../kernels/copy.js';
import { emitElementwise } from '../kernels/elementwise.js';
import type { Lowering } from './lowering.js';

/** A transpose is a strided copy: the identity over the input read with permuted strides. */
const transpose: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const perm = transposePerm(x.shape.length, attrsOf(node, transposeAttrs).perm);
  const s = stridesOf(dimsOf(x));
  return emitElementwise({
    name: 'transpose', operands: [{ dtype: x.dtype, strides: perm.map((p) => s[p]!), source: 0 }], out: 1,
    outDType: node.output.type.dtype, shape: dimsOf(node.output.type), body: ([v]) => v!,
  });
};

/**
 * Reshape and its relatives normally alias their input (`aliasesInput` in the op registry) and get
 * no kernel; this flat copy is for a schedule that needs a separate buffer.
 */
const flatCopy: Lowering = (node) => {
  const n = dNumel(dimsOf(node.output.type));
  return emitCopy({ name: node.op, dtype: node.output.type.dtype, shape: [n], sources: { src: 0, dst: 1 }, src: { offset: 0, strides: [1] }, dst: { offset: 0, strides: [1] } });
};

/** Expand reads the input with broadcast (zero) strides. */
const expand: Lowering = (node) => {
  const [x, out] = [dimsOf(node.inputs[0]!.type), dimsOf(node.output.type)];
  return emitCopy({
    name: 'expand', dtype: node.output.type.dtype, shape: out, sources: { src: 0, dst: 1 },
    src: { offset: 0, strides: broadcastStrides(x, out) }, dst: { offset: 0, strides: stridesOf(out) },
  });
};

/** A channel shuffle is one permuted copy over the [N, C/g, g, rest] view of the output. */
const channelShuffle: Lowering = (node) => {
  const view = channelShuffleView(node.inputs[0]!.type.shape, attrsOf(node, channelShuffleAttrs).groups);
  return emitCopy({
    name: 'channel_shuffle', dtype: node.output.type.dtype, shape: view.shape, sources: { src: 0, dst: 1 },
    src: { offset: 0, strides: view.inStrides }, dst: { offset: 0, strides: stridesOf(view.shape) },
  });
};

export const movementLowerings: Record<string, Lowering> = {
  transpose, reshape: flatCopy, flatten: flatCopy, squeeze: flatCopy, unsqueeze: flatCopy, expand, channel_shuffle: channelShuffle,
};
