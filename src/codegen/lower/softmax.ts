import { axisRows } from '../../ir/ops/softmax.js';
import { emitSoftmax } from '../kernels/softmax.js';
import type { Lowering } from './lowering.js';

/** softmax / log_softmax: one kernel over the rows along the axis. */
const softmax: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  return emitSoftmax({ name: node.op, dtype: x.dtype, log: node.op === 'log_softmax', ...axisRows(x.shape, node.attrs.axis as number) });
};

export const softmaxLowerings: Record<string, Lowering> = { softmax, log_softmax: softmax };
