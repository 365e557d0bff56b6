// The windows of Conv, ConvTranspose and the pools as ONNX gives them (kernel_shape, strides,
// dilations, pads, auto_pad), and the 1-D <-> 2-D views that let 1-D nodes run on kiln's 2-D ops.
import { typeOf, type Operand } from '../builder.js';
import type { OnnxNode } from '../node.js';
import { reshapeToDims } from './helpers.js';
import { dimsOf } from '../../../ir/types.js';

/** Per-axis window parameters of a 1-D or 2-D ONNX node, as 2-D lists. */
export interface Window2d {
  kernel: number[];
  stride: number[];
  dilation: number[];
  /** [top, left, bottom, right]. */
  padding: number[];
}

/** The spatial rank of a node's [N, C, ...] input; 1, 2 and 3 are supported. */
export function spatialRank(n: OnnxNode, x: Operand): number {
  const rank = typeOf(x).shape.length;
  if (rank < 3) n.fail(`needs an input [N, C, spatial...], got rank ${rank}`);
  if (rank > 5) n.unsupported(`${rank - 2}-D ${n.opType} is not supported (kiln has 1-D, 2-D and 3-D windows)`);
  return rank - 2;
}

/** A [N, C, L] tensor as [N, C, 1, L]. */
export function as2d(n: OnnxNode, x: Operand): Operand {
  const s = dimsOf(typeOf(x));
  return s.length === 3 ? reshapeToDims(n, x, [s[0]!, s[1]!, 1, s[2]!]) : x;
}

/** Undoes as2d on a result. */
export function from2d(n: OnnxNode, y: Operand, spatial: number): Operand {
  if (spatial === 2) return y;
  const s = dimsOf(typeOf(y));
  return reshapeToDims(n, y, [s[0]!, s[1]!, s[3]!]);
}

/**
 * Begin and end padding of one axis under ONNX's auto_pad SAME_UPPER / SAME_LOWER: the output
 * has ceil(in / stride) positions, and an odd total goes at the end (UPPER) or the start (LOWER).
 */
function samePadding(inSize: number, kernel: number, stride: number, dilation: number, upper: boolean): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - inSize);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small] : [total - small, small];
}

/** Per-axis window parameters of an ONNX node of any spatial rank. */
export interface WindowNd {
  kernel: number[];
  stride: number[];
  dilation: number[];
  begin: number[];
  end: number[];
}

/** Reads kernel_shape, strides, dilations, pads and auto_pad for a window over `spatialIn`, per axis. */
export function readWindowNd(n: OnnxNode, spatialIn: readonly number[], kernel: readonly number[]): WindowNd {
  const k = spatialIn.length;
  const ints = (name: string, dflt: number) => {
    const v = n.attrs.ints(name, new Array<number>(k).fill(dflt));
    if (v.length !== k) n.fail(`${name} [${v.join(',')}] must have ${k} values`);
    return v;
  };
  const stride = ints('strides', 1);
  const dilation = ints('dilations', 1);
  const autoPad = n.attrs.string('auto_pad', 'NOTSET');
  let begin: number[];
  let end: number[];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const pads = spatialIn.map((d, i) => samePadding(d, kernel[i]!, stride[i]!, dilation[i]!, autoPad === 'SAME_UPPER'));
    begin = pads.map((p) => p[0]);
    end = pads.map((p) => p[1]);
  } else if (autoPad === 'VALID') {
    begin = new Array<number>(k).fill(0);
    end = begin;
  } else if (autoPad === 'NOTSET' || autoPad === '') {
    const pads = n.attrs.ints('pads', new Array<number>(2 * k).fill(0));
    if (pads.length !== 2 * k) n.fail(`pads [${pads.join(',')}] must have ${2 * k} values`);
    begin = pads.slice(0, k);
    end = pads.slice(k);
  } else {
    n.fail(`unknown auto_pad '${autoPad}'`);
  }
  return { kernel: [...kernel], stride, dilation, begin, end };
}

/** The window of the last two spatial axes of `w` (all of a 2-D one), as kiln's 2-D ops take it. */
export function lastTwoAxes(w: WindowNd): Window2d {
  const k = w.kernel.length;
  if (k === 1) {
    return { kernel: [1, w.kernel[0]!], stride: [1, w.stride[0]!], dilation: [1, w.dilation[0]!], padding: [0, w.begin[0]!, 0, w.end[0]!] };
  }
  const t = (v: number[]) => v.slice(k - 2);
  return { kernel: t(w.kernel), stride: t(w.stride), dilation: t(w.dilation), padding: [...t(w.begin), ...t(w.end)] };
}

/** Reads the window of a 1-D or 2-D node as 2-D lists. */
export function readWindow(n: OnnxNode, spatialIn: readonly number[], kernel: readonly number[]): Window2d {
  return lastTwoAxes(readWindowNd(n, spatialIn, kernel));
}

