import { f16BitsToF32, f32ToF16Bits } from '../../../ir/f16.js';
import { castElement } from '../../../ir/ops/cast.js';
import { alloc, type CpuKernel } from './kernel.js';

/**
 * cast needs its own kernel because f16 is stored as raw bits on the host: read f16 operands
 * as their values and write f16 results as bits (rounded to nearest-even, like the device).
 */
const cast: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const from = x!.dtype;
  const to = out.dtype;
  const src = x!.data;
  for (let i = 0; i < src.length; i++) {
    const v = castElement(from === 'f16' ? f16BitsToF32(src[i]!) : src[i]!, from, to, node.attrs);
    out.data[i] = to === 'f16' ? f32ToF16Bits(v) : v;
  }
  return [out];
};

export const castKernels: Record<string, CpuKernel> = { cast };
