import { f16BitsToF32, f32ToF16Bits } from '../../../ir/f16.js';
import { castElement } from '../../../ir/ops/cast.js';
import { stringsOf, stringTensor } from '../../../ir/tensor-data.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues } from './values.js';
import { numberText, parseNumberText } from './number-text.js';

/**
 * cast needs its own kernel because f16 is stored as raw bits on the host: read f16 operands
 * as their values and write f16 results as bits (rounded to nearest-even, like the device).
 * Strings cast to and from numbers as text (number-text.ts).
 */
const cast: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const from = x!.dtype;
  const to = out.dtype;
  if (to === 'string') return [stringTensor(x!.shape, from === 'string' ? stringsOf(x!) : Array.from(hostValues(x!), (v) => numberText(v, from)))];
  const src: ArrayLike<number> = from === 'string' ? stringsOf(x!).map((s, i) => parseNumberText(s, `cast to ${to}, element ${i}`)) : x!.data;
  // Text reads as a double, then converts as an f32 value would.
  const srcType = from === 'string' ? 'f32' : from;
  for (let i = 0; i < src.length; i++) {
    const v = castElement(from === 'f16' ? f16BitsToF32(src[i]!) : src[i]!, srcType, to, node.attrs);
    out.data[i] = to === 'f16' ? f32ToF16Bits(v) : v;
  }
  return [out];
};

export const castKernels: Record<string, CpuKernel> = { cast };
