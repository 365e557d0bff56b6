import type { Node, Value } from './graph.js';
import { attrsOf } from './attrs.js';
import { splitAttrs, splitLayout } from './ops/concat-split.js';
import { transposeAttrs, transposePerm } from './ops/movement.js';
import { sliceAttrs, sliceAxesDims } from './ops/slice-pad.js';
import { dimsOf, stridesOf } from './types.js';
import { largest } from './ops/shape-util.js';
import { dAdd, dExactDiv, dimsEqual, dMul, type Dim } from './size-expr.js';

/**
 * A strided view of a tensor's storage: element i0..in of the view lives at
 * `offset + sum(ik * strides[k])` of the base. Movement ops that only re-index (transpose,
 * reshape where strides allow, a split output, a slice, an expand) compose into one view, so a
 * kernel can read through them instead of a copy.
 */
export interface View {
  readonly offset: Dim;
  readonly shape: readonly Dim[];
  readonly strides: readonly Dim[];
}

/** The view of a whole contiguous tensor. */
export function denseView(shape: readonly Dim[]): View {
  return { offset: 0, shape: [...shape], strides: stridesOf(shape) };
}

/**
 * Reshape without copying, or undefined when the view's strides do not allow it. Dimensions are
 * matched in groups of equal element count; within a group the old dimensions must be laid out
 * contiguously relative to each other, and the new ones take strides from that run.
 */
export function reshapeView(v: View, shape: readonly Dim[]): View | undefined {
  const oldDims = v.shape.map((d, i) => ({ d, s: v.strides[i]! })).filter((x) => x.d !== 1);
  const newShape = [...shape];
  const strides = new Array<Dim>(newShape.length).fill(0);
  let oi = 0;
  let ni = 0;
  while (ni < newShape.length) {
    if (newShape[ni] === 1) { strides[ni] = 0; ni++; continue; }
    if (oi >= oldDims.length) return undefined;
    // Grow a group on each side until their element counts agree (for every size, where they
    // vary: the side whose count divides the other's grows).
    let oEnd = oi + 1;
    let nEnd = ni + 1;
    let oCount: Dim = oldDims[oi]!.d;
    let nCount: Dim = newShape[ni]!;
    while (!dimsEqual(oCount, nCount)) {
      const oSmaller = typeof oCount === 'number' && typeof nCount === 'number' ? oCount < nCount : dExactDiv(nCount, oCount) !== undefined;
      const nSmaller = !oSmaller && (typeof oCount === 'number' && typeof nCount === 'number' ? true : dExactDiv(oCount, nCount) !== undefined);
      if (oSmaller) { if (oEnd >= oldDims.length) return undefined; oCount = dMul(oCount, oldDims[oEnd++]!.d); }
      else if (nSmaller) { if (nEnd >= newShape.length) return undefined; nCount = dMul(nCount, newShape[nEnd++]!); }
      else return undefined;
    }
    for (let k = oi; k < oEnd - 1; k++) if (!dimsEqual(oldDims[k]!.s, dMul(oldDims[k + 1]!.s, oldDims[k + 1]!.d))) return undefined;
    let s: Dim = oldDims[oEnd - 1]!.s;
    for (let k = nEnd - 1; k >= ni; k--) { strides[k] = s; s = dMul(s, newShape[k]!); }
    oi = oEnd;
    ni = nEnd;
  }
  if (oi !== oldDims.length) return undefined;
  return { offset: v.offset, shape: newShape, strides };
}

/** Ops whose result is a view of their (first) operand. */
export const VIEW_OPS: ReadonlySet<string> = new Set(['transpose', 'reshape', 'flatten', 'squeeze', 'unsqueeze', 'expand', 'split', 'slice']);

/** View ops that can only drop extents of one (a pooled [N, C, 1, 1] seen as [N, C]), never reorder elements. */
export const ONES_DROPPING_VIEWS: ReadonlySet<string> = new Set(['reshape', 'flatten', 'squeeze']);

/** The view result `out` of movement node `n` makes of its operand's view, or undefined. */
export function viewThrough(n: Node, out: Value, v: View): View | undefined {
  switch (n.op) {
    case 'transpose': {
      const perm = transposePerm(v.shape.length, attrsOf(n, transposeAttrs).perm);
      return { offset: v.offset, shape: perm.map((p) => v.shape[p]!), strides: perm.map((p) => v.strides[p]!) };
    }
    case 'reshape': case 'flatten': case 'squeeze': case 'unsqueeze':
      return reshapeView(v, dimsOf(out.type));
    case 'expand': {
      const target = dimsOf(out.type);
      const off = target.length - v.shape.length;
      const strides = target.map((d, i) => (i < off || (v.shape[i - off] === 1 && d !== 1) ? 0 : v.strides[i - off]!));
      return { offset: v.offset, shape: [...target], strides };
    }
    case 'split': {
      const a = attrsOf(n, splitAttrs);
      // Split along a fixed axis: extents that vary elsewhere are carried along.
      const { axis, offsets } = splitLayout(largest(v.shape), a.axis, a.sizes);
      if (typeof v.shape[axis] !== 'number') return undefined;
      const k = n.outputs.indexOf(out);
      return { offset: dAdd(v.offset, dMul(offsets[k]!, v.strides[axis]!)), shape: [...dimsOf(out.type)], strides: [...v.strides] };
    }
    case 'slice': {
      const a = attrsOf(n, sliceAttrs);
      // Negative strides would need signed offsets in kernels; leave those as copies. A cut of an
      // extent that varies may start at a size expression (sliceAxesDims, which sized the result).
      if (a.steps.some((s) => s < 0)) return undefined;
      const axes = sliceAxesDims(v.shape, a.starts, a.ends, a.axes, a.steps);
      return {
        offset: axes.reduce((o: Dim, a, i) => dAdd(o, dMul(a.start, v.strides[i]!)), v.offset),
        shape: axes.map((ax) => ax.length),
        strides: axes.map((a, i) => dMul(a.step, v.strides[i]!)),
      };
    }
  }
  return undefined;
}

/**
 * Follows `v` back through view ops to the value whose storage it reads: the chain of nodes
 * (outermost last) and the composed view, or undefined when some step is not a view.
 */
export function traceView(v: Value, stop: (v: Value) => boolean = () => false): { base: Value; chain: Node[]; view: View } | undefined {
  const steps: { node: Node; out: Value }[] = [];
  let cur = v;
  while (cur.producer && VIEW_OPS.has(cur.producer.op) && !stop(cur)) {
    steps.push({ node: cur.producer, out: cur });
    cur = cur.producer.inputs[0]!;
  }
  if (!steps.length) return undefined;
  let view: View | undefined = denseView(dimsOf(cur.type));
  for (let i = steps.length - 1; i >= 0 && view; i--) view = viewThrough(steps[i]!.node, steps[i]!.out, view);
  return view ? { base: cur, chain: steps.map((s) => s.node).reverse(), view } : undefined;
}
