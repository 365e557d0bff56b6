import { concatLayout, splitLayout } from '../../ir/ops/concat-split.js';
import { numel, stridesOf, type DType } from '../../ir/types.js';
import { emitCopy } from '../kernels/copy.js';
import { emitConcat } from '../kernels/concat.js';
import { denseView, type View } from '../../ir/view.js';
import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import type { Lowering } from './lowering.js';

/**
 * A concat in one dispatch, optionally reading its sources through views, shuffling the
 * result's channels and casting it to `outDType` (when fusion gives it a following
 * channel_shuffle or float cast); empty sources are left unbound. Bindings: the non-empty
 * sources, then the output.
 */
export function lowerConcat(
  node: Node, views: readonly (View | undefined)[] = [], shuffleGroups?: number, name = 'concat', outDType?: DType,
): EmittedKernel | EmittedKernel[] {
  const shapes = node.inputs.map((v) => v.type.shape);
  const { axis } = concatLayout(shapes, node.attrs.axis as number);
  const used = shapes.map((s, k) => k).filter((k) => numel(shapes[k]!) > 0);
  if (used.length >= MAX_SOURCES) {
    if (shuffleGroups || outDType || views.some((v) => v)) throw new Error(`internal: a fused concat of ${used.length} sources exceeds the binding limit`);
    return concatByCopies(node);
  }
  return {
    ...emitConcat({
      name, dtype: node.output.type.dtype, outShape: node.output.type.shape, axis,
      sources: used.map((k) => views[k] ?? denseView(shapes[k]!)),
      ...(shuffleGroups ? { shuffleGroups } : {}),
      ...(outDType ? { outDType } : {}),
    }),
    bindings: [...used, node.inputs.length],
  };
}

const concat: Lowering = (node) => lowerConcat(node);

// One kernel binds at most 8 storage buffers: 7 sources and the output.
const MAX_SOURCES = 8;

/** Many-input concats: one copy dispatch per non-empty input into its slab of the output. */
function concatByCopies(node: Node): EmittedKernel[] {
  const shapes = node.inputs.map((v) => v.type.shape);
  const { axis, offsets } = concatLayout(shapes, node.attrs.axis as number);
  const out = node.output.type;
  const os = stridesOf(out.shape);
  return shapes.flatMap((s, k) => (numel(s) === 0 ? [] : [{
    ...emitCopy({ name: 'concat', dtype: out.dtype, shape: s, src: { offset: 0, strides: stridesOf(s) }, dst: { offset: offsets[k]! * os[axis]!, strides: os } }),
    bindings: [k, node.inputs.length],
  }]));
}

/** One copy per non-empty output from its slab of the input; bindings (input, output k). */
const split: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const { axis, offsets } = splitLayout(x.shape, node.attrs.axis as number, node.attrs.sizes as number[]);
  const xs = stridesOf(x.shape);
  const kernels: EmittedKernel[] = [];
  node.outputs.forEach((v, k) => {
    const s = v.type.shape;
    if (numel(s) === 0) return;
    kernels.push({
      ...emitCopy({ name: 'split', dtype: x.dtype, shape: s, src: { offset: offsets[k]! * xs[axis]!, strides: xs }, dst: { offset: 0, strides: stridesOf(s) } }),
      bindings: [0, 1 + k],
    });
  });
  return kernels;
};

export const concatSplitLowerings: Record<string, Lowering> = { concat, split };
