import { padAmounts, padAttrs, padFillValue, sliceAttrs, sliceAxesDims, wrapWindow, type PadMode } from '../../ir/ops/slice-pad.js';
import { attrsOf } from '../../ir/attrs.js';
import { dimsOf, stridesOf } from '../../ir/types.js';
import { dAdd, dMul } from '../../ir/size-expr.js';
import { emitCopy } from '../kernels/copy.js';
import { emitPad } from '../kernels/pad.js';
import type { Lowering } from './lowering.js';

/**
 * A slice is a strided copy: start offset, strides scaled by the steps (negative steps read
 * backwards). Where an extent varies, the start may be a size expression (sliceAxesDims).
 */
const slice: Lowering = (node) => {
  const a = attrsOf(node, sliceAttrs);
  const xDims = dimsOf(node.inputs[0]!.type);
  const axes = sliceAxesDims(xDims, a.starts, a.ends, a.axes, a.steps);
  const xs = stridesOf(xDims);
  const out = dimsOf(node.output.type);
  return emitCopy({
    name: 'slice', dtype: node.output.type.dtype, shape: out, sources: { src: 0, dst: 1 },
    src: { offset: dAdd(...axes.map((ax, d) => dMul(ax.start, xs[d]!))), strides: axes.map((ax, d) => dMul(ax.step, xs[d]!)) },
    dst: { offset: 0, strides: stridesOf(out) },
  });
};

/** A pad reads its extents from the values' dims; the pads themselves are fixed. */
const pad: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const { pads, value } = attrsOf(node, padAttrs);
  const mode = attrsOf(node, padAttrs).mode as PadMode;
  const { begin, end } = padAmounts(x.shape, pads, mode);
  // Wrap mode repeats what a crop leaves: fixed sizes only (readsSymbolicSizes refuses it otherwise).
  const wraps = mode === 'wrap' ? x.shape.map((d, i) => wrapWindow(d, begin[i]!, end[i]!)) : undefined;
  return emitPad({
    name: `pad_${mode}`, dtype: x.dtype, inShape: dimsOf(x), outShape: dimsOf(node.output.type), begin, mode, ...(wraps ? { wraps } : {}),
    value: padFillValue(value, x.dtype), sources: { x: 0, out: 1 },
  });
};

export const slicePadLowerings: Record<string, Lowering> = { slice, pad };
