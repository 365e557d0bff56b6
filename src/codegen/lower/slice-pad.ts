import { padAmounts, padAttrs, padFillValue, sliceAxes, wrapWindow, type PadMode } from '../../ir/ops/slice-pad.js';
import { attrsOf } from '../../ir/attrs.js';
import { dimsOf, stridesOf } from '../../ir/types.js';
import { dAdd, dimText, dMul, isSymbolic } from '../../ir/size-expr.js';
import { KilnError } from '../../ir/errors.js';
import { emitCopy } from '../kernels/copy.js';
import { emitPad } from '../kernels/pad.js';
import type { Lowering } from './lowering.js';

/** A slice is a strided copy: start offset, strides scaled by the steps (negative steps read backwards). */
const slice: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const a = node.attrs;
  const axes = sliceAxes(x.shape, a.starts as number[], a.ends as number[], a.axes as number[], a.steps as number[]);
  const xDims = dimsOf(x);
  // An extent that varies is kept whole (its slice is the identity at every size) or refused.
  xDims.forEach((d, i) => {
    const ax = axes[i]!;
    if (isSymbolic(d) && !(ax.start === 0 && ax.step === 1 && ax.length === x.shape[i])) {
      throw new KilnError(`slice %${node.output.name}: it cuts dimension ${i} (${dimText(d)}), whose extent varies; only whole extents that vary are sliced`);
    }
  });
  const xs = stridesOf(xDims);
  const out = dimsOf(node.output.type);
  return emitCopy({
    name: 'slice', dtype: node.output.type.dtype, shape: out, sources: { src: 0, dst: 1 },
    src: { offset: dAdd(...axes.map((ax, d) => dMul(ax.start, xs[d]!))), strides: axes.map((ax, d) => dMul(ax.step, xs[d]!)) },
    dst: { offset: 0, strides: stridesOf(out) },
  });
};

const pad: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const { pads, value } = attrsOf(node, padAttrs);
  const mode = attrsOf(node, padAttrs).mode as PadMode;
  const { begin, end, shape } = padAmounts(x.shape, pads, mode);
  const wraps = x.shape.map((d, i) => wrapWindow(d, begin[i]!, end[i]!));
  return emitPad({
    name: `pad_${mode}`, dtype: x.dtype, inShape: x.shape, outShape: shape, begin, mode, wraps,
    value: padFillValue(value, x.dtype), sources: { x: 0, out: 1 },
  });
};

export const slicePadLowerings: Record<string, Lowering> = { slice, pad };
