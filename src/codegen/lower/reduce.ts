import { allOps, getOp } from '../../ir/ops/index.js';
import { attrsOf } from '../../ir/attrs.js';
import { ARG_REDUCTIONS, argReduceAttrs, reduceAttrs } from '../../ir/ops/reduce.js';
import { normalizeAxes } from '../../ir/ops/shape-util.js';
import { dimsOf, stridesOf } from '../../ir/types.js';
import { dimRange, dNumel, type Dim } from '../../ir/size-expr.js';
import { rowVariant } from './row-variant.js';
import { emitReduce } from '../kernels/reduce.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { anchorKernelName, plainLowerings, type Anchor, type AnchorIO, type LowerContext, type Lowering } from './lowering.js';

/**
 * How a reduction of `node` over `axes` of x walks x: the kept and the reduced dimensions
 * (reduced in ascending order) with x's strides (`strides`, a view's, or dense), the kernel
 * variant, and `split` to divide another tensor's strides alike.
 */
function reductionLayout(node: Node, axes: readonly number[], strides?: readonly Dim[], ctx?: LowerContext) {
  const x = node.inputs[0]!.type;
  const shape = dimsOf(x);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const reduced = [...axes].sort((a, b) => a - b);
  const split = (st: readonly Dim[]) => ({ kept: kept.map((i) => st[i]!), reduced: reduced.map((i) => st[i]!) });
  const own = split(strides ?? stridesOf(shape));
  const [keptShape, reducedShape] = [kept.map((i) => shape[i]!), reduced.map((i) => shape[i]!)];
  const variant = rowVariant(ctx, 'reduce', node.op, x.dtype, dNumel(keptShape), dNumel(reducedShape));
  return { layout: { keptShape, keptStrides: own.kept, reducedShape, reducedStrides: own.reduced, variant }, split };
}

/** sum, mean, max or min of floats: they compute an elementwise chain as they read, and take an epilogue. */
function foldsFloats(node: Node): boolean {
  const dtype = node.output.type.dtype;
  return dtype === 'f32' || dtype === 'f16';
}

/**
 * Any op with reduction math, over any axes; optionally reading its input through a view (a
 * transpose, slice...: the view's strides are the kernel's), or computing an elementwise chain
 * over operands laid out like its input or broadcast to it as it reads them; and an epilogue on
 * each result.
 */
function lowerReduction(node: Node, io: AnchorIO, ctx?: LowerContext): EmittedKernel {
  const x = node.inputs[0]!.type;
  const axesAttr = attrsOf(node, reduceAttrs).axes;
  const axes = axesAttr.length ? normalizeAxes(axesAttr, x.shape.length) : x.shape.map((_, i) => i);
  const { chain, view } = io.operands[0]!;
  const { layout, split } = reductionLayout(node, axes, view?.strides, ctx);
  // A chain's operands broadcast to the input are read at offsets of their own.
  const operands = chain?.operands.map((o) => ({ source: o.source, dtype: o.dtype, ...(o.strides ? { strides: split(o.strides) } : {}) }));
  return emitReduce({
    name: anchorKernelName(node.op, io), dtype: x.dtype, math: getOp(node.op).spec.reduce!, ...layout,
    ...(view ? { offset: view.offset } : {}),
    sources: { x: io.operands[0]!.source, out: io.out },
    ...(io.epilogue ? { epilogue: io.epilogue } : {}), ...(chain ? { prologue: { operands: operands!, body: chain.fn.call, helpers: chain.fn.decls } } : {}),
  });
}

const reduction: Anchor = {
  roles: {
    reads: (node) => (foldsFloats(node) ? ['chain', 'view'] : ['view']),
    readsView: (_, __, view) => view.strides.every((s) => dimRange(s)[0] >= 0),
    epilogue: (node) => (foldsFloats(node) ? ['elementwise'] : []),
  },
  lower: lowerReduction,
};

/** Every op with reduction math. */
export const reduceAnchors: Record<string, Anchor> = Object.fromEntries(allOps().filter((d) => d.spec.reduce).map((d) => [d.name, reduction]));

/** argmax / argmin along one axis. */
const lowerArgReduction: Lowering = (node, ctx) => {
  const x = node.inputs[0]!.type;
  const axes = normalizeAxes([attrsOf(node, argReduceAttrs).axis], x.shape.length);
  return emitReduce({
    name: node.op, dtype: x.dtype, sources: { x: 0, out: 1 }, arg: ARG_REDUCTIONS[node.op]!, lastIndex: node.attrs.select_last_index === true,
    ...reductionLayout(node, axes, undefined, ctx).layout,
  });
};

export const reduceLowerings: Record<string, Lowering> = {
  ...plainLowerings(reduceAnchors),
  ...Object.fromEntries(Object.keys(ARG_REDUCTIONS).map((op) => [op, lowerArgReduction])),
};
