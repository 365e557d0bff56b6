import { getOp } from '../../../ir/ops/index.js';
import { broadcastStrides } from '../../../ir/ops/shape-util.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValue } from './values.js';

/** Any op with scalar math: elementwise with broadcasting. */
export const elementwise: CpuKernel = (node, inputs) => {
  const { math, operandStrides } = getOp(node.op).spec;
  const out = alloc(node.output.type);
  // Fixed shapes give fixed strides.
  const strides = (operandStrides?.(inputs.map((x) => x.shape), out.shape, node.attrs) as number[][] | undefined)
    ?? inputs.map((x) => broadcastStrides(x.shape, out.shape));
  const args = new Array<number>(inputs.length);
  const inDTypes = inputs.map((x) => x.dtype);
  // f16 operands are decoded and each result rounded to f16, as the device computes f16 math.
  const values = inputs.map(hostValues);
  forEachIndex(out.shape, strides, (i, offs) => {
    for (let k = 0; k < inputs.length; k++) args[k] = values[k]![offs[k]!]!;
    storeValue(out, i, math!.cpu(args, out.dtype, node.attrs, inDTypes));
  });
  return [out];
};
