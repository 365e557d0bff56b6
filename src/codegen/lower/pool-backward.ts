import { poolGeometry } from '../../ir/ops/pool.js';
import { emitMaxPoolBackward } from '../kernels/pool-backward.js';
import type { Lowering } from './lowering.js';

const maxPool2dBackward: Lowering = (node) =>
  emitMaxPoolBackward(node.op, node.output.type.dtype, poolGeometry(node.inputs[0]!.type.shape, node.attrs), { x: 0, dy: 1, dx: 2 });

export const poolBackwardLowerings: Record<string, Lowering> = { max_pool2d_backward: maxPool2dBackward };
