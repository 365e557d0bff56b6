import { OpTypeError } from '../errors.js';
import type { DType, Shape } from '../types.js';
import { defineOp } from './registry.js';
import { largest, normalizeAxes } from './shape-util.js';
import { dAdd, dCeilDiv, dimRange, dimText, dSub, isSymbolic, type Dim } from '../size-expr.js';

/** One axis of a slice after clamping: the first index read, the step, and the output extent. */
export interface SliceAxis {
  readonly start: number;
  readonly step: number;
  readonly length: number;
}

/**
 * ONNX Slice per axis: negative starts/ends count from the end, then clamp to the axis
 * ([0, d] for positive steps, [0, d-1] / [-1, d-1] for negative ones), so huge values such as
 * INT64_MAX mean "to the end". Axes not named keep their full extent.
 */
export function sliceAxes(shape: Shape, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps: readonly number[]): SliceAxis[] {
  const named = axes.length ? normalizeAxes(axes, shape.length) : starts.map((_, i) => i);
  if (starts.length !== ends.length || starts.length !== named.length || (steps.length && steps.length !== starts.length)) {
    throw new OpTypeError(`starts [${starts.join(',')}], ends [${ends.join(',')}], axes [${axes.join(',')}] and steps [${steps.join(',')}] must have the same length`);
  }
  if (named.some((a) => a >= shape.length)) throw new OpTypeError(`slices ${named.length} axes of a rank-${shape.length} input`);
  const out: SliceAxis[] = shape.map((d) => ({ start: 0, step: 1, length: d }));
  named.forEach((a, i) => {
    const d = shape[a]!;
    const step = steps.length ? steps[i]! : 1;
    if (step === 0) throw new OpTypeError(`step of axis ${a} is 0`);
    const from = (v: number) => (v < 0 ? v + d : v);
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const start = step > 0 ? clamp(from(starts[i]!), 0, d) : clamp(from(starts[i]!), 0, d - 1);
    const end = step > 0 ? clamp(from(ends[i]!), 0, d) : clamp(from(ends[i]!), -1, d - 1);
    const length = Math.max(0, Math.ceil((end - start) / step));
    out[a] = { start: length ? start : 0, step, length };
  });
  return out;
}

/** One axis of a slice whose extent may vary: the first index read and the extent may be size expressions. */
export interface SliceAxisDims {
  readonly start: Dim;
  readonly step: number;
  readonly length: Dim;
}

/**
 * sliceAxes over extents some of which vary. A varying axis is cut where the cut lies at the same
 * place relative to the start or the end at every size: an index from the end (-k, with k no
 * more than the smallest extent), one past the largest extent (to the end), one below the
 * smallest extent (from the start), with a positive step. A cut that clamps at some sizes and
 * not at others, or leaves a span that may be negative, is refused.
 */
export function sliceAxesDims(x: readonly Dim[], starts: readonly number[], ends: readonly number[], axes: readonly number[], steps: readonly number[]): SliceAxisDims[] {
  const fixed = sliceAxes(largest(x), starts, ends, axes, steps);
  const named = axes.length ? normalizeAxes(axes, x.length) : starts.map((_, i) => i);
  return fixed.map((ax, a): SliceAxisDims => {
    const d = x[a]!;
    if (!isSymbolic(d)) return ax;
    const i = named.indexOf(a);
    if (i < 0) return { start: 0, step: 1, length: d };
    const step = steps.length ? steps[i]! : 1;
    const [lo, hi] = dimRange(d);
    const at = (v: number): Dim | undefined => (v < 0 ? (v + hi <= 0 ? 0 : v + lo >= 0 ? dAdd(d, v) : undefined) : v >= hi ? d : v <= lo ? v : undefined);
    const [start, end] = [at(starts[i]!), at(ends[i]!)];
    const span = start !== undefined && end !== undefined ? dSub(end, start) : undefined;
    if (step < 0 || span === undefined || dimRange(span)[0] < 0) {
      throw new OpTypeError(`slicing dimension ${a} (${dimText(d)}) from ${starts[i]} to ${ends[i]} by ${step} cuts it at a place that depends on its size (kept for sizes that vary: from the end, to the end, within the smallest extent, positive steps)`);
    }
    return { start: start!, step, length: dCeilDiv(span, step) };
  });
}

/** slice's attributes. */
export const sliceAttrs = {
  starts: { kind: 'ints' }, ends: { kind: 'ints' },
  axes: { kind: 'ints', default: [] }, steps: { kind: 'ints', default: [] },
} as const;

defineOp({
  name: 'slice', kind: 'movement', inputs: 1, strings: true,
  attrs: sliceAttrs,
  infer: ([x], attrs) => {
    const axes = sliceAxes(x!.shape, attrs.starts, attrs.ends, attrs.axes, attrs.steps);
    return [{ dtype: x!.dtype, shape: axes.map((a) => a.length) }];
  },
  dims: ([x], attrs) => [sliceAxesDims(x!, attrs.starts, attrs.ends, attrs.axes, attrs.steps).map((a) => a.length)],
});

export type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';
const PAD_MODES: readonly string[] = ['constant', 'reflect', 'edge', 'wrap'];

/**
 * Per-axis padding before and after, from ONNX's [begin0, begin1, ..., end0, end1, ...].
 * Negative pads crop. Reflect and edge need a non-empty input along padded axes.
 */
export function padAmounts(shape: Shape, pads: readonly number[], mode: string): { begin: number[]; end: number[]; shape: number[] } {
  const rank = shape.length;
  if (!PAD_MODES.includes(mode)) throw new OpTypeError(`mode "${mode}" is not one of ${PAD_MODES.join(', ')}`);
  if (pads.length !== 2 * rank) throw new OpTypeError(`pads [${pads.join(',')}] need 2 x rank = ${2 * rank} entries for [${shape.join(',')}]`);
  const begin = pads.slice(0, rank);
  const end = pads.slice(rank);
  const out = shape.map((d, i) => d + begin[i]! + end[i]!);
  if (out.some((d) => d < 0)) throw new OpTypeError(`pads [${pads.join(',')}] crop [${shape.join(',')}] below zero`);
  if (mode !== 'constant') {
    shape.forEach((d, i) => {
      const left = mode === 'wrap' ? wrapWindow(d, begin[i]!, end[i]!).len : d;
      if (left <= 0 && out[i]! > 0) throw new OpTypeError(`${mode} padding of an empty axis ${i} of [${shape.join(',')}] has nothing to copy`);
    });
  }
  return { begin, end, shape: out };
}

/**
 * The part of an axis of extent `d` that wrap padding repeats: what is left after the negative
 * pads crop it (a crop at one end and a pad at the other wrap the cropped axis, as ONNX Runtime
 * does), as its first index and length.
 */
export function wrapWindow(d: number, begin: number, end: number): { lo: number; len: number } {
  const lo = Math.max(0, -begin);
  return { lo, len: d - lo - Math.max(0, -end) };
}

/**
 * The input index an output index reads along one axis under a pad mode, or -1 for the
 * constant. `j` is the output index minus the begin pad. Reflect mirrors without repeating the
 * edge and keeps mirroring (like NumPy) when the pad is wider than the axis; wrap repeats the
 * axis periodically (`wrap`, from wrapWindow, is the repeated part; the whole axis by default).
 */
export function padSourceIndex(j: number, d: number, mode: PadMode, wrap = { lo: 0, len: d }): number {
  if (mode === 'wrap') return wrap.lo + ((((j - wrap.lo) % wrap.len) + wrap.len) % wrap.len);
  if (j >= 0 && j < d) return j;
  if (mode === 'constant') return -1;
  if (mode === 'edge' || d === 1) return j < 0 ? 0 : d - 1;
  const period = 2 * (d - 1);
  const m = ((j % period) + period) % period;
  return m < d ? m : period - m;
}

/** The value a constant pad writes, as a `dtype` tensor holds it: integers truncate, bool is nonzero. */
export function padFillValue(value: number, dtype: DType): number {
  if (dtype === 'bool') return value !== 0 ? 1 : 0;
  if (dtype === 'i32' || dtype === 'u32') return Math.trunc(value);
  return value;
}

/** pad's attributes. */
export const padAttrs = { pads: { kind: 'ints' }, mode: { kind: 'string', default: 'constant' }, value: { kind: 'float', default: 0 } } as const;

defineOp({
  name: 'pad', kind: 'movement', inputs: 1,
  attrs: padAttrs,
  infer: ([x], attrs) => [{ dtype: x!.dtype, shape: padAmounts(x!.shape, attrs.pads, attrs.mode).shape }],
  // Each extent grows by its pads; checked at the largest sizes, and a crop must leave the smallest non-negative.
  dims: ([x], attrs) => {
    const { begin, end } = padAmounts(largest(x!), attrs.pads, attrs.mode);
    const out = x!.map((d, i) => dAdd(d, begin[i]! + end[i]!));
    const k = out.findIndex((d) => dimRange(d)[0] < 0);
    if (k >= 0) throw new OpTypeError(`pads [${attrs.pads.join(',')}] crop dimension ${k} (${dimText(x![k]!)}) below zero at its smallest sizes`);
    return [out];
  },
});
