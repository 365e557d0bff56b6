import { OpTypeError } from '../errors.js';
import type { Shape } from '../types.js';
import { defineOp } from './registry.js';
import { dAdd, dimsEqual, dimText } from '../size-expr.js';
import { normalizeAxes, sameDType } from './shape-util.js';

/** `axis` resolved against `rank` (negative counts from the end), with a clear error when out of range. */
export function resolveAxis(axis: number, rank: number): number {
  if (rank === 0) throw new OpTypeError(`axis ${axis} needs an input of rank at least 1, got a scalar`);
  return normalizeAxes([axis], rank)[0]!;
}

/** Where each input starts along the concat axis, and the output shape. */
export function concatLayout(shapes: readonly Shape[], axis: number): { axis: number; offsets: number[]; shape: number[] } {
  const first = shapes[0]!;
  const a = resolveAxis(axis, first.length);
  const offsets: number[] = [];
  let total = 0;
  for (const s of shapes) {
    const same = s.length === first.length && s.every((d, i) => i === a || d === first[i]);
    if (!same) {
      throw new OpTypeError(`inputs ${shapes.map((x) => `[${x.join(',')}]`).join(', ')} differ outside the concat axis ${a}`);
    }
    offsets.push(total);
    total += s[a]!;
  }
  return { axis: a, offsets, shape: first.map((d, i) => (i === a ? total : d)) };
}

/** concat's attributes. */
export const concatAttrs = { axis: { kind: 'int', default: 0 } } as const;

defineOp({
  name: 'concat', kind: 'movement', inputs: [1, Infinity], strings: true,
  attrs: concatAttrs,
  infer: (ins, attrs) => {
    const dtype = sameDType(ins);
    return [{ dtype, shape: concatLayout(ins.map((t) => t.shape), attrs.axis).shape }];
  },
  dims: (ins, attrs) => {
    const first = ins[0]!;
    const a = resolveAxis(attrs.axis, first.length);
    for (const s of ins) {
      if (s.length !== first.length || !s.every((d, i) => i === a || dimsEqual(d, first[i]!))) {
        throw new OpTypeError(`inputs ${ins.map((x) => `[${x.map(dimText).join(',')}]`).join(', ')} differ outside the concat axis ${a}`);
      }
    }
    return [first.map((d, i) => (i === a ? dAdd(...ins.map((s) => s[a]!)) : d))];
  },
});

/** Where each output of a split starts along the axis; `sizes` must cover the axis exactly. */
export function splitLayout(shape: Shape, axis: number, sizes: readonly number[]): { axis: number; offsets: number[] } {
  const a = resolveAxis(axis, shape.length);
  if (sizes.length === 0) throw new OpTypeError('needs at least one output size');
  if (sizes.some((s) => s < 0)) throw new OpTypeError(`sizes [${sizes.join(',')}] have a negative extent`);
  const total = sizes.reduce((p, s) => p + s, 0);
  if (total !== shape[a]) {
    throw new OpTypeError(`sizes [${sizes.join(',')}] add up to ${total} but axis ${a} of [${shape.join(',')}] has extent ${shape[a]}`);
  }
  const offsets: number[] = [];
  let at = 0;
  for (const s of sizes) { offsets.push(at); at += s; }
  return { axis: a, offsets };
}

/** split's attributes. */
export const splitAttrs = { axis: { kind: 'int', default: 0 }, sizes: { kind: 'ints' } } as const;

/** Splits one tensor along `axis` into one output per entry of `sizes`. */
defineOp({
  name: 'split', kind: 'movement', inputs: 1, strings: true,
  attrs: splitAttrs,
  infer: ([x], attrs) => {
    const sizes = attrs.sizes;
    const { axis } = splitLayout(x!.shape, attrs.axis, sizes);
    return sizes.map((s) => ({ dtype: x!.dtype, shape: x!.shape.map((d, i) => (i === axis ? s : d)) }));
  },
});
