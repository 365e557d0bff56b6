import { resizePlan } from '../../ir/ops/resize.js';
import { emitResize } from '../kernels/resize.js';
import type { Lowering } from './lowering.js';

const resize: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const plan = resizePlan(x.shape, node.attrs);
  return emitResize(`resize_${plan.mode}`, x.dtype, plan, { x: 0, out: 1 });
};

export const resizeLowerings: Record<string, Lowering> = { resize };
