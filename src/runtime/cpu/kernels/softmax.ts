import { axisRows, softmaxAttrs } from '../../../ir/ops/softmax.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValue } from './values.js';
import { attrsOf } from '../../../ir/attrs.js';

/** softmax / log_softmax along one axis, in double, subtracting each row's max first. */
const softmaxAlongAxis: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const log = node.op === 'log_softmax';
  const { rows, extent, inner } = axisRows(x!.shape, attrsOf(node, softmaxAttrs).axis);
  const xs = hostValues(x!);
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / inner) * extent * inner + (r % inner);
    let max = -Infinity;
    for (let j = 0; j < extent; j++) max = Math.max(max, xs[base + j * inner]!);
    let sum = 0;
    for (let j = 0; j < extent; j++) sum += Math.exp(xs[base + j * inner]! - max);
    const logSum = Math.log(sum);
    for (let j = 0; j < extent; j++) {
      const o = base + j * inner;
      storeValue(out, o, log ? xs[o]! - max - logSum : Math.exp(xs[o]! - max) / sum);
    }
  }
  return [out];
};

export const softmaxKernels: Record<string, CpuKernel> = { softmax: softmaxAlongAxis, log_softmax: softmaxAlongAxis };
