import { axisRows } from '../../ir/ops/softmax.js';
import { emitSoftmax } from '../kernels/softmax.js';
import type { AnchorLowering, Lowering } from './lowering.js';

/** softmax / log_softmax: one kernel over the rows along the axis, optionally with an epilogue. */
const softmax: AnchorLowering = (node, epilogue) => {
  const x = node.inputs[0]!.type;
  return emitSoftmax({
    name: epilogue ? `${node.op}_${epilogue.name}` : node.op, dtype: x.dtype, log: node.op === 'log_softmax',
    ...axisRows(x.shape, node.attrs.axis as number), ...(epilogue ? { epilogue } : {}),
  });
};

export const softmaxLowerings: Record<string, Lowering> = { softmax: (n) => softmax(n), log_softmax: (n) => softmax(n) };

/** softmax and log_softmax take a fused epilogue. */
export const softmaxAnchors: Record<string, AnchorLowering> = { softmax, log_softmax: softmax };
