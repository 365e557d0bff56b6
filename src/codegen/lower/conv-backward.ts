import { conv2dGeometry } from '../../ir/ops/conv.js';
import { emitConvBackwardWeight } from '../kernels/conv-backward-weight.js';
import type { Lowering } from './lowering.js';

const conv2dBackwardWeight: Lowering = (node) => emitConvBackwardWeight({
  name: node.op, dtype: node.output.type.dtype, sources: { x: 0, dy: 1, grad: 2 },
  geometry: conv2dGeometry(node.inputs[0]!.type.shape, node.output.type.shape, node.attrs),
});

export const convBackwardLowerings: Record<string, Lowering> = { conv2d_backward_weight: conv2dBackwardWeight };
