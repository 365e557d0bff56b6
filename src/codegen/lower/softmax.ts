import { axisRows } from '../../ir/ops/softmax.js';
import { softmaxAttrs } from '../../ir/ops/softmax.js';
import { attrsOf } from '../../ir/attrs.js';
import { dimsOf } from '../../ir/types.js';
import { emitSoftmax } from '../kernels/softmax.js';
import { anchorKernelName, plainLowerings, type Anchor } from './lowering.js';
import { rowVariant } from './row-variant.js';

/**
 * softmax / log_softmax: one kernel over the rows along the axis. It computes in f32, so it reads
 * x converted as it loads (an f16 x being widened), and takes an elementwise epilogue.
 */
const softmax: Anchor = {
  roles: { reads: () => ['convert'], epilogue: () => ['elementwise'] },
  lower: (node, io, ctx) => {
    const x = io.operands[0]!;
    const rows = axisRows(dimsOf(node.inputs[0]!.type), attrsOf(node, softmaxAttrs).axis);
    return emitSoftmax({
      name: anchorKernelName(node.op, io), dtype: node.output.type.dtype, log: node.op === 'log_softmax',
      sources: { x: x.source, out: io.out }, ...(x.dtype !== node.output.type.dtype ? { xDType: x.dtype } : {}),
      ...rows, ...(io.epilogue ? { epilogue: io.epilogue } : {}),
      variant: rowVariant(ctx, 'softmax', node.op, node.inputs[0]!.type.dtype, rows.rows, rows.extent),
    });
  },
};

export const softmaxAnchors: Record<string, Anchor> = { softmax, log_softmax: softmax };

export const softmaxLowerings = plainLowerings(softmaxAnchors);
