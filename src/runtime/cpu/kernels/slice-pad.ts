import { padAmounts, padAttrs, sliceAttrs, padFillValue, padSourceIndex, sliceAxes, wrapWindow, type PadMode } from '../../../ir/ops/slice-pad.js';
import { f32ToF16Bits } from '../../../ir/f16.js';
import { stridesOf } from '../../../ir/types.js';
import { copyStrided } from './copy.js';
import { alloc, type CpuKernel } from './kernel.js';
import { attrsOf } from '../../../ir/attrs.js';

const slice: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const a = attrsOf(node, sliceAttrs);
  const axes = sliceAxes(x!.shape, a.starts, a.ends, a.axes, a.steps);
  const xs = stridesOf(x!.shape);
  const offset = axes.reduce((p, ax, d) => p + ax.start * xs[d]!, 0);
  copyStrided(out.shape, { data: x!.data, offset, strides: axes.map((ax, d) => ax.step * xs[d]!) }, { data: out.data, offset: 0, strides: stridesOf(out.shape) });
  return [out];
};

/** Walks the output coordinates and maps each one back to an input element (or the constant). */
const pad: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const a = attrsOf(node, padAttrs);
  const mode = a.mode as PadMode;
  const { begin, end } = padAmounts(x!.shape, a.pads, mode);
  const wraps = x!.shape.map((d, i) => wrapWindow(d, begin[i]!, end[i]!));
  const fill = padFillValue(a.value, out.dtype);
  const fillStored = out.dtype === 'f16' ? f32ToF16Bits(fill) : fill; // f16 is stored as raw bits
  const xs = stridesOf(x!.shape);
  const rank = out.shape.length;
  const coord = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.data.length; i++) {
    let src = 0;
    for (let d = 0; d < rank && src >= 0; d++) {
      const j = padSourceIndex(coord[d]! - begin[d]!, x!.shape[d]!, mode, wraps[d]);
      src = j < 0 ? -1 : src + j * xs[d]!;
    }
    out.data[i] = src < 0 ? fillStored : x!.data[src]!;
    for (let d = rank - 1; d >= 0 && ++coord[d]! === out.shape[d]; d--) coord[d] = 0;
  }
  return [out];
};

export const slicePadKernels: Record<string, CpuKernel> = { slice, pad };
