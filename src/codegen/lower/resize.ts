import { resizePlan, resizeVaryingMap } from '../../ir/ops/resize.js';
import { KilnError } from '../../ir/errors.js';
import { dNumel } from '../../ir/size-expr.js';
import { dimsOf, isDynamic } from '../../ir/types.js';
import { emitResize } from '../kernels/resize.js';
import type { Lowering } from './lowering.js';

/**
 * A resize's kernel. With sizes that vary, the plan is made at the largest sizes (where the
 * coordinates reach furthest, so the 32-bit check there covers every size) and its extents
 * become the values' dims; the coordinate maps must not depend on the sizes (resizeVaryingMap).
 */
const resize: Lowering = (node) => {
  const x = node.inputs[0]!.type;
  const plan = resizePlan(x.shape, node.attrs);
  const name = `resize_${plan.mode}`;
  if (!isDynamic(x)) return emitResize(name, x.dtype, plan, { x: 0, out: 1 });
  const [dims, out] = [dimsOf(x), dimsOf(node.output.type)];
  const why = resizeVaryingMap(dims, out, node.attrs);
  if (why) throw new KilnError(`its kernel takes fixed sizes only here: ${why}`);
  const r = dims.length;
  const axis = (k: number) => (k < 0 ? { inSize: 1, outSize: 1 } : { inSize: dims[k]!, outSize: out[k]! });
  return emitResize(name, x.dtype, { ...plan, batch: dNumel(dims.slice(0, Math.max(0, r - 2))), h: { ...plan.h, ...axis(r - 2) }, w: { ...plan.w, ...axis(r - 1) } }, { x: 0, out: 1 });
};

export const resizeLowerings: Record<string, Lowering> = { resize };
