import { attrsOf } from '../../../ir/attrs.js';
import { labelEncoderAttrs } from '../../../ir/ops/label-encoder.js';
import { stringTensor, tensorData, type TensorData } from '../../../ir/tensor-data.js';
import type { CpuKernel } from './kernel.js';

/** A tensor's elements as JS values (strings or numbers). */
const elements = (t: TensorData): readonly (string | number)[] => Array.from(t.data as ArrayLike<string | number>);

/** Replaces each element by the value of its key (the first key, where keys repeat), or the default. */
const labelEncoder: CpuKernel = (node, [x]) => {
  const { keys, values, default: dflt } = attrsOf(node, labelEncoderAttrs);
  const vs = elements(values);
  // A Map compares by SameValueZero: a NaN key matches NaN, and 0 matches -0.
  const index = new Map<string | number, number>();
  elements(keys).forEach((k, i) => {
    if (!index.has(k)) index.set(k, i);
  });
  const fallback = elements(dflt)[0]!;
  const out = elements(x!).map((k) => {
    const i = index.get(k);
    return i === undefined ? fallback : vs[i]!;
  });
  return [values.dtype === 'string' ? stringTensor(x!.shape, out as string[]) : tensorData(values.dtype, x!.shape, out as number[])];
};

export const labelEncoderKernels: Record<string, CpuKernel> = { label_encoder: labelEncoder };
