import { dimsEqual, dimText, isSymbolic, type Dim } from '../../../ir/size-expr.js';
import { dimsOf, type DType } from '../../../ir/types.js';
import { typeOf, type OnnxBuilder, type Operand } from '../builder.js';
import type { OnnxNode } from '../node.js';
import { makeConst, type ConstTensor } from '../tensor.js';

/** `x` converted to `dtype` (no op when it already is). */
export function castTo(b: OnnxBuilder, x: Operand, dtype: DType): Operand {
  return typeOf(x).dtype === dtype ? x : b.op('cast', [x], { to: dtype });
}

/** `x` reshaped to `shape` (no op when it already has it). */
export function reshapeTo(b: OnnxBuilder, x: Operand, shape: readonly number[]): Operand {
  const s = typeOf(x).shape;
  return s.length === shape.length && s.every((d, i) => d === shape[i]) ? x : b.op('reshape', [x], { shape: [...shape] });
}

/**
 * `x` reshaped to `dims`, each a number (-1 for the one extent to infer) or an extent that
 * varies from run to run (a size of dimsOf(typeOf(x)), or a product of one): varying extents
 * that keep their position are copied (reshape's `copy`), and one other may be the inferred -1
 * where no -1 is given; anything else is refused, naming the node.
 */
export function reshapeToDims(n: OnnxNode, x: Operand, dims: readonly Dim[]): Operand {
  const varying = dims.flatMap((d, i) => (isSymbolic(d) ? [i] : []));
  if (varying.length === 0) return reshapeTo(n.b, x, dims as number[]);
  const hole = dims.includes(-1);
  // One varying extent is inferred (-1); with several, those in place are copied.
  if (varying.length === 1 && !hole) return n.b.op('reshape', [x], { shape: dims.map((d) => (isSymbolic(d) ? -1 : d)) });
  const from = dimsOf(typeOf(x));
  const copy = varying.filter((i) => i < from.length && dimsEqual(from[i]!, dims[i]!));
  const inferred = varying.filter((i) => !copy.includes(i));
  if (inferred.length + (hole ? 1 : 0) > 1) n.unsupported(`reshaping [${from.map(dimText).join(',')}] to [${dims.map(dimText).join(',')}] moves extents that vary to other positions`);
  const shape = dims.map((d, i) => (inferred.includes(i) ? -1 : isSymbolic(d) ? 0 : d));
  return n.b.op('reshape', [x], { shape, ...(copy.length ? { copy } : {}) });
}

/** A scalar constant of `x`'s dtype. */
export function scalarLike(b: OnnxBuilder, x: Operand, value: number): Operand {
  return b.scalar(typeOf(x).dtype, value);
}

/** Axis `a` of a rank-`rank` tensor, negative counting from the end, checked against the rank. */
export function normalizeAxis(n: OnnxNode, a: number, rank: number, what = 'axis'): number {
  const r = a < 0 ? a + rank : a;
  if (!Number.isInteger(r) || r < 0 || r >= rank) n.fail(`${what} ${a} is out of range for an input of rank ${rank}`);
  return r;
}

/**
 * The second operand of a binary op as ONNX before opset 7 broadcast it: with `broadcast=1`
 * and an `axis`, B's dims line up with A's starting at `axis` (NumPy broadcasting lines them
 * up at the end). Later opsets always broadcast NumPy-style.
 */
export function legacyBroadcastOperands(n: OnnxNode): [Operand, Operand] {
  const a = n.input(0);
  let bx = n.input(1);
  if (n.opset < 7 && n.attrs.int('broadcast', 0) === 1 && n.attrs.has('axis')) {
    const ra = typeOf(a).shape.length;
    const sb = typeOf(bx).shape;
    const axis = n.attrs.int('axis', 0);
    const start = axis < 0 ? axis + ra : axis;
    if (start < 0 || start + sb.length > ra) n.fail(`axis ${axis} does not place B [${sb.join(',')}] inside A of rank ${ra}`);
    bx = reshapeTo(n.b, bx, [...sb, ...new Array<number>(ra - start - sb.length).fill(1)]);
  }
  return [a, bx];
}

/** Folds n-ary operands pairwise with a binary kiln op (ONNX Max, Min, Sum, Mean). */
export function foldPairwise(b: OnnxBuilder, op: string, xs: readonly Operand[]): Operand {
  return xs.slice(1).reduce<Operand>((acc, x) => b.op(op, [acc, x]), xs[0]!);
}

/** Every present operand of a node (skipping empty optional inputs). */
export function presentInputs(n: OnnxNode): Operand[] {
  return n.inputs.filter((x): x is Operand => x !== undefined);
}

/**
 * The positions 0..n-1 laid along `axis` of a rank-`rank` tensor (extent 1 on the other axes), an
 * i32 constant that broadcasts against tensors of that rank: the coordinate of every element.
 */
export function positionsAlong(n: OnnxNode, rank: number, axis: number, extent: number): ConstTensor {
  const shape = Array.from({ length: rank }, (_, i) => (i === axis ? extent : 1));
  return makeConst(`${n.name}:positions${axis}`, 'i32', shape, Array.from({ length: extent }, (_, i) => i));
}
