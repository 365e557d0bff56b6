// Integer sums computed by kiln's f32 kernels (its matmuls and convs accumulate in f32, whatever
// the dtype): exact while every partial sum stays below 2^24, each an integer then. These bound
// such a sum by the operands' ranges and split it where the bound needs it.
import { NARROW_FORMATS, type NarrowFormat } from '../../../ir/ops/narrow.js';
import { typeOf, type Operand } from '../builder.js';
import type { OnnxNode } from '../node.js';
import { castTo } from './helpers.js';
import { narrowFormatOf, OnnxType, onnxTypeName } from '../onnx-types.js';

/** The integer range of an integer format, or undefined for a float one. */
export function intRange(format: NarrowFormat | undefined): [number, number] | undefined {
  const f = format === undefined ? undefined : NARROW_FORMATS[format];
  if (!f || f.kind !== 'int') return undefined;
  return f.signed ? [-(2 ** (f.bits - 1)), 2 ** (f.bits - 1) - 1] : [0, 2 ** f.bits - 1];
}

/** f32 holds every integer of magnitude below this. */
export const F32_EXACT = 2 ** 24;

/** The largest |x - zero_point| of integer ONNX type `type` (the width of its range; uint8 where unknown) of operand `what`. */
export function centeredBound(n: OnnxNode, type: number | undefined, what: string): number {
  const range = intRange(narrowFormatOf(type ?? OnnxType.UINT8));
  if (!range) return n.unsupported(`${what} of type ${onnxTypeName(type ?? 0)} is not a supported integer type`);
  return range[1] - range[0];
}

/**
 * How to split a centered weight (|w| <= `wBound`) into base-2^bits digits (bits <= `maxBits`)
 * so that a conv of `terms` products per output over activations |x| <= `xBound` sums exactly in
 * f32 (below 2^24) per digit: the digit width and how many digits (one, of no set width, when the
 * weight fits whole); undefined when even 1-bit digits overflow.
 */
export function weightDigits(terms: number, xBound: number, wBound: number, maxBits = 7): { bits: number; count: number } | undefined {
  const fits = (d: number) => terms * xBound * d < F32_EXACT;
  if (fits(wBound)) return { bits: 0, count: 1 };
  let bits = 0;
  while (bits < maxBits && fits(2 ** (bits + 1) - 1)) bits++;
  if (bits === 0) return undefined;
  // Floor division leaves digits in [0, 2^bits) below the top one, which is at most ceil(wBound / 2^(bits * (count - 1))).
  let count = 2;
  while (!fits(Math.ceil(wBound / 2 ** (bits * (count - 1))))) count++;
  return { bits, count };
}

/**
 * Contiguous ranges [c0, c1) of a constant centered weight's input channels (`centered` as
 * [outChannels, inChannels, taps...], a matmul's B as [N, K]) over which, for every output
 * channel, the sum of |w| times `xBound` stays below 2^24: a conv over one range then sums
 * exactly in f32 whatever the activations (|x| <= xBound), since no partial sum can pass that
 * sum. As few ranges as that allows (one where the whole weight fits); undefined where one
 * channel alone does not fit. Real weights are far from their largest values everywhere: the
 * bound on the largest |w| over every product refused 3 x 3 convs over 64 uint8 channels; by the
 * sums of |w| most fit whole.
 */
export function channelRanges(centeredWeight: ArrayLike<number>, outChannels: number, inChannels: number, xBound: number): [number, number][] | undefined {
  const taps = centeredWeight.length / (outChannels * inChannels);
  const own = new Float64Array(inChannels * outChannels);
  for (let o = 0; o < outChannels; o++) {
    for (let c = 0; c < inChannels; c++) {
      let s = 0;
      for (let t = (o * inChannels + c) * taps, end = t + taps; t < end; t++) s += Math.abs(centeredWeight[t]!);
      own[c * outChannels + o] = s;
    }
  }
  return rangesOfSums(own, outChannels, xBound);
}

/** channelRanges from each input channel's sum of |w| for each output channel (`own`, [inChannels, outChannels]). */
export function rangesOfSums(own: ArrayLike<number>, outChannels: number, xBound: number): [number, number][] | undefined {
  const inChannels = own.length / outChannels;
  const sums = new Float64Array(outChannels);
  const ranges: [number, number][] = [];
  let start = 0;
  for (let c = 0; c < inChannels; c++) {
    const base = c * outChannels;
    let fits = true;
    for (let o = 0; o < outChannels; o++) {
      if (own[base + o]! * xBound >= F32_EXACT) return undefined;
      if ((sums[o]! + own[base + o]!) * xBound >= F32_EXACT) fits = false;
    }
    if (!fits) {
      ranges.push([start, c]);
      start = c;
      sums.fill(0);
    }
    for (let o = 0; o < outChannels; o++) sums[o] += own[base + o]!;
  }
  ranges.push([start, inChannels]);
  return ranges;
}

/**
 * [0, length) as ranges of terms of a sum, each product at most `termBound`, each range's sum
 * below 2^24: as few as that allows, of equal size but the last.
 */
export function evenRanges(length: number, termBound: number): [number, number][] {
  const size = Math.max(1, Math.floor((F32_EXACT - 1) / termBound));
  return Array.from({ length: Math.max(1, Math.ceil(length / size)) }, (_, i) => [i * size, Math.min(length, (i + 1) * size)]);
}

/** Range [k0, k1) of x along `axis`, x itself where that is all of it. */
export function rangeOf(n: OnnxNode, x: Operand, axis: number, [k0, k1]: [number, number]): Operand {
  return k0 === 0 && k1 === typeOf(x).shape[axis] ? x : n.b.op('slice', [x], { starts: [k0], ends: [k1], axes: [axis] });
}

/** Partial sums, each exact in f32, summed in i32 (the one part as it is). */
export const sumInI32 = (n: OnnxNode, parts: Operand[]): Operand =>
  parts.length === 1 ? parts[0]! : parts.map((p) => castTo(n.b, p, 'i32')).reduce((x, y) => n.b.op('add', [x, y]));
