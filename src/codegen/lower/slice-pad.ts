import { padAmounts, padFillValue, sliceAxes, type PadMode } from '../../ir/ops/slice-pad.js';
import { stridesOf } from '../../ir/types.js';
import { emitCopy } from '../kernels/copy.js';
import { emitPad } from '../kernels/pad.js';
import type { Lowering } from './lowering.js';

/** A slice is a strided copy: start offset, strides scaled by the steps (negative steps read backwards). */
const slice: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const a = node.attrs;
  const axes = sliceAxes(x.shape, a.starts as number[], a.ends as number[], a.axes as number[], a.steps as number[]);
  const xs = stridesOf(x.shape);
  const out = node.output.type;
  return emitCopy({
    name: 'slice', dtype: out.dtype, shape: out.shape, sources: { src: 0, dst: 1 },
    src: { offset: axes.reduce((p, ax, d) => p + ax.start * xs[d]!, 0), strides: axes.map((ax, d) => ax.step * xs[d]!) },
    dst: { offset: 0, strides: stridesOf(out.shape) },
  });
};

const pad: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const mode = node.attrs.mode as PadMode;
  const { begin, shape } = padAmounts(x.shape, node.attrs.pads as number[], mode);
  return emitPad({
    name: `pad_${mode}`, dtype: x.dtype, inShape: x.shape, outShape: shape, begin, mode,
    value: padFillValue(node.attrs.value as number, x.dtype), sources: { x: 0, out: 1 },
  });
};

export const slicePadLowerings: Record<string, Lowering> = { slice, pad };
