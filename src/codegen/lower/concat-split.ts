import { concatAttrs, concatLayout, resolveAxis, splitAttrs, splitLayout } from '../../ir/ops/concat-split.js';
import { channelShuffleAttrs } from '../../ir/ops/movement.js';
import { attrsOf } from '../../ir/attrs.js';
import { dimsOf, isDynamic, numel, stridesOf } from '../../ir/types.js';
import { KilnError } from '../../ir/errors.js';
import { dimRange, dimText, dMul, dNumel, type Dim } from '../../ir/size-expr.js';
import { MAX_STORAGE_BINDINGS } from '../../ir/fusion.js';
import { emitCopy } from '../kernels/copy.js';
import { concatLoops, emitConcat, type ConcatKernelSpec, type ConcatVariant } from '../kernels/concat.js';
import { denseView } from '../../ir/view.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { plainLowerings, type Anchor, type AnchorIO, type LowerContext, type Lowering } from './lowering.js';

/**
 * A concat in one dispatch, reading its sources through views, and (when fusion gives it a
 * following channel_shuffle or float cast) shuffling the result's channels and casting it;
 * empty sources are left unbound.
 */
function lowerConcat(node: Node, io: AnchorIO, ctx?: LowerContext): EmittedKernel | EmittedKernel[] {
  const shapes = node.inputs.map((v) => dimsOf(v.type));
  const axis = resolveAxis(attrsOf(node, concatAttrs).axis, shapes[0]!.length);
  const used = shapes.map((s, k) => k).filter((k) => dimRange(dNumel(shapes[k]!))[1] > 0);
  const after = io.after ?? [];
  const shuffle = after.find((n) => n.op === 'channel_shuffle');
  const result = after.at(-1)?.output ?? node.output;
  if (after.some((n) => n.op !== 'channel_shuffle' && n.op !== 'cast')) throw new Error(`internal: concat takes only a channel shuffle and a cast after it, not ${after.map((n) => n.op).join(', ')}`);
  if (used.length > MAX_SOURCES) {
    if (after.length || io.operands.some((o) => o.view)) throw new Error(`internal: a fused concat of ${used.length} sources exceeds the binding limit`);
    return concatByCopies(node);
  }
  const outDType = result.type.dtype;
  const spec: ConcatKernelSpec = {
    name: [node.op, ...after.map((n) => n.op)].join('_'), dtype: node.output.type.dtype, outShape: dimsOf(node.output.type), axis,
    parts: used.map((k) => ({ source: io.operands[k]!.source, view: io.operands[k]!.view ?? denseView(shapes[k]!) })), out: io.out,
    ...(shuffle ? { shuffleGroups: attrsOf(shuffle, channelShuffleAttrs).groups } : {}),
    ...(outDType !== node.output.type.dtype ? { outDType } : {}),
  };
  // The flat kernel is every adapter's default; a chooser may take the loops (software adapters do).
  const variants: ConcatVariant[] = concatLoops(spec) ? ['flat', 'loops'] : ['flat'];
  const pick = ctx?.choose?.('concat', concatSignature(spec.dtype, spec.outShape, axis, used.map((k) => shapes[k]![axis]!)), variants);
  return emitConcat({ ...spec, variant: variants.find((v) => v === pick) ?? 'flat' });
}

/** A concat's problem as a chooser sees it: `f32:1x12x129x64:axis2:128+1` (the output's dims, the axis, each bound part's extent along it). */
function concatSignature(dtype: string, outShape: readonly Dim[], axis: number, lengths: readonly Dim[]): string {
  return `${dtype}:${outShape.map(dimText).join('x')}:axis${axis}:${lengths.map(dimText).join('+')}`;
}

/**
 * concat reads every source through any view while it binds them all in one kernel; then it can
 * also shuffle channels (concatenated along them) and cast floats as it writes.
 */
export const concatAnchors: Record<string, Anchor> = {
  concat: {
    roles: {
      reads: (node) => (oneKernel(node) ? ['view'] : []),
      readsView: () => true,
      epilogue: (node) => (!oneKernel(node) ? [] : resolveAxis(attrsOf(node, concatAttrs).axis, node.output.type.shape.length) === 1 ? ['channel-shuffle', 'float-cast'] : ['float-cast']),
    },
    lower: lowerConcat,
  },
};

/** Whether a concat's sources and output fit one kernel's storage bindings. */
function oneKernel(node: Node): boolean {
  return node.inputs.length <= MAX_SOURCES;
}

// Sources one kernel binds besides the output.
const MAX_SOURCES = MAX_STORAGE_BINDINGS - 1;

/** Many-input concats: one copy dispatch per non-empty input into its slab of the output. */
function concatByCopies(node: Node): EmittedKernel[] {
  if (node.inputs.some((v) => isDynamic(v.type))) throw new KilnError(`concat %${node.output.name}: a concat of more than ${MAX_SOURCES} sources takes fixed sizes only`);
  const shapes = node.inputs.map((v) => v.type.shape);
  const { axis, offsets } = concatLayout(shapes, attrsOf(node, concatAttrs).axis);
  const out = node.output.type;
  const os = stridesOf(out.shape);
  return shapes.flatMap((s, k) => (numel(s) === 0 ? [] : [emitCopy({
    name: 'concat', dtype: out.dtype, shape: s, sources: { src: k, dst: node.inputs.length },
    src: { offset: 0, strides: stridesOf(s) }, dst: { offset: offsets[k]! * os[axis]!, strides: os },
  })]));
}

/** One copy per non-empty output k from its slab of the input. */
const split: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const { axis, offsets } = splitLayout(x.shape, attrsOf(node, splitAttrs).axis, attrsOf(node, splitAttrs).sizes);
  const xDims = dimsOf(x);
  if (typeof xDims[axis] !== 'number') throw new KilnError(`split %${node.outputs[0]!.name}: its axis ${axis} (${dimText(xDims[axis]!)}) varies; only fixed extents are split`);
  const xs = stridesOf(xDims);
  const kernels: EmittedKernel[] = [];
  node.outputs.forEach((v, k) => {
    if (numel(v.type.shape) === 0) return;
    const s = dimsOf(v.type);
    kernels.push(emitCopy({
      name: 'split', dtype: x.dtype, shape: s, sources: { src: 0, dst: 1 + k },
      src: { offset: dMul(offsets[k]!, xs[axis]!), strides: xs }, dst: { offset: 0, strides: stridesOf(s) },
    }));
  });
  return kernels;
};

export const concatSplitLowerings: Record<string, Lowering> = { ...plainLowerings(concatAnchors), split };
