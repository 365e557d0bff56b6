import { KilnError } from '../../../ir/errors.js';
import type { CpuKernel } from './kernel.js';
import { attrsOf } from '../../../ir/attrs.js';
import { constAttrs } from '../../../ir/ops/source.js';

const constant: CpuKernel = (node) => {
  const v = attrsOf(node, constAttrs).value;
  if (!v) throw new KilnError(`const %${node.output.name} (ref "${String(node.attrs.ref)}") has no data: supply its weights`);
  return [v];
};

/** On the host every device is the same memory: a transfer hands its input through. */
const transfer: CpuKernel = (_, [x]) => [x!];

export const sourceKernels: Record<string, CpuKernel> = { const: constant, transfer };
