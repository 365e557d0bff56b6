import { resizePlan, resizeVaryingMap } from '../../ir/ops/resize.js';
import { KilnError } from '../../ir/errors.js';
import { dimText, dNumel } from '../../ir/size-expr.js';
import { dimsOf, isDynamic, type DType } from '../../ir/types.js';
import { emitResize, resizeTakesVec4, type ResizeKernelPlan } from '../kernels/resize.js';
import type { LowerContext, Lowering } from './lowering.js';

/** A resize's problem as a chooser sees it: `nearest:f32:96x80x80->160x160` (batch x H x W -> out H x W). */
function resizeSignature(plan: ResizeKernelPlan, dtype: DType): string {
  const { batch, h, w } = plan;
  return `${plan.mode}:${dtype}:${[batch, h.inSize, w.inSize].map(dimText).join('x')}->${dimText(h.outSize)}x${dimText(w.outSize)}`;
}

/**
 * The kernel for a plan: four outputs an invocation (`vec4`) wherever it applies, unless a
 * chooser (kernel A/B runs, tests) asks for the one-output kernel (`scalar`). Every adapter
 * class takes `vec4` (the heuristic's first variant): measured 3 to 5x faster on lavapipe (linear 2.7x), and
 * on a GPU it is the same gathers with a quarter of the invocations and 16-byte stores, as the
 * elementwise and concat kernels' vec4 paths, which every adapter takes too.
 */
function emitPlan(plan: ResizeKernelPlan, dtype: DType, ctx?: LowerContext) {
  const variants = resizeTakesVec4(plan) ? ['vec4', 'scalar'] : ['scalar'];
  const pick = ctx?.choose?.('resize', resizeSignature(plan, dtype), variants);
  const variant = pick !== undefined && variants.includes(pick) ? pick : variants[0];
  return emitResize(`resize_${plan.mode}`, dtype, plan, { x: 0, out: 1 }, variant === 'vec4');
}

/**
 * A resize's kernel. With sizes that vary, the plan is made at the largest sizes (where the
 * coordinates reach furthest, so the 32-bit check there covers every size) and its extents
 * become the values' dims; the coordinate maps must not depend on the sizes (resizeVaryingMap).
 */
const resize: Lowering = (node, ctx) => {
  const x = node.inputs[0]!.type;
  const plan = resizePlan(x.shape, node.attrs);
  if (!isDynamic(x)) return emitPlan(plan, x.dtype, ctx);
  const [dims, out] = [dimsOf(x), dimsOf(node.output.type)];
  const why = resizeVaryingMap(dims, out, node.attrs);
  if (why) throw new KilnError(`its kernel takes fixed sizes only here: ${why}`);
  const r = dims.length;
  const axis = (k: number) => (k < 0 ? { inSize: 1, outSize: 1 } : { inSize: dims[k]!, outSize: out[k]! });
  return emitPlan({ ...plan, batch: dNumel(dims.slice(0, Math.max(0, r - 2))), h: { ...plan.h, ...axis(r - 2) }, w: { ...plan.w, ...axis(r - 1) } }, x.dtype, ctx);
};

export const resizeLowerings: Record<string, Lowering> = { resize };
