import { OpTypeError } from '../errors.js';
import type { Shape, TensorType } from '../types.js';
import { formatShapeType, stridesOf } from '../types.js';
import { dimRange, dimsEqual, dimText, type Dim } from '../size-expr.js';

/** NumPy broadcasting of any number of shapes; symbolic extents must agree for every size. */
export function broadcastShapes(shapes: readonly Shape[]): number[];
export function broadcastShapes(shapes: readonly (readonly Dim[])[]): Dim[];
export function broadcastShapes(shapes: readonly (readonly Dim[])[]): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<Dim>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && !dimsEqual(d, out[o]!)) {
        throw new OpTypeError(`shapes ${shapes.map((x) => `[${x.map(dimText).join(',')}]`).join(' and ')} do not broadcast (dimension ${o}: ${dimText(out[o]!)} vs ${dimText(d)})`);
      }
    }
  }
  return out;
}

/** Resolves negative axes against a rank and checks bounds and duplicates. */
export function normalizeAxes(axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  out.forEach((a, i) => {
    if (a < 0 || a >= rank) throw new OpTypeError(`axis ${axes[i]} is out of range for rank ${rank}`);
  });
  if (new Set(out).size !== out.length) throw new OpTypeError(`axes [${axes.join(',')}] repeat an axis`);
  return out;
}

/** Requires every input to have the same dtype; returns it. */
export function sameDType(inputs: readonly TensorType[]): TensorType['dtype'] {
  const d = inputs[0]!.dtype;
  for (const t of inputs) {
    if (t.dtype !== d) {
      throw new OpTypeError(`operands have different dtypes: ${inputs.map((x) => formatShapeType(x.dtype, x.shape)).join(', ')} (insert a cast)`);
    }
  }
  return d;
}

/**
 * Element strides of a row-major tensor of `inShape` seen from coordinates of `outShape`
 * under NumPy broadcasting: dimensions the input lacks or has as 1 get stride 0.
 */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[];
export function broadcastStrides(inShape: readonly Dim[], outShape: readonly Dim[]): Dim[];
export function broadcastStrides(inShape: readonly Dim[], outShape: readonly Dim[]): Dim[] {
  const s = stridesOf(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < off || inShape[i - off] === 1 ? 0 : s[i - off]!));
}

/** Whether a tensor of extents `from` broadcasts to `to` without growing it: each extent it has is 1 or `to`'s. */
export function broadcastsTo(from: readonly Dim[], to: readonly Dim[]): boolean {
  const off = to.length - from.length;
  return off >= 0 && from.every((d, i) => d === 1 || dimsEqual(d, to[i + off]!));
}

/** Extents with each symbolic one at its largest value: for checks that only a fixed extent decides. */
export function largest(dims: readonly Dim[]): number[] {
  return dims.map((d) => dimRange(d)[1]);
}

/** The extents of an operand that must not vary (a weight). */
export function staticDims(dims: readonly Dim[], role: string): number[] {
  if (!dims.every((d): d is number => typeof d === 'number')) throw new OpTypeError(`the ${role}'s extents [${dims.map(dimText).join(',')}] must not vary`);
  return [...dims];
}

