import { broadcastStrides } from '../../ir/ops/shape-util.js';
import type { DType, Shape } from '../../ir/types.js';
import type { Node } from '../../ir/graph.js';
import type { Epilogue } from '../kernels/epilogue.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { emitMatmul, type MatmulOperandLayout, type MatmulVariant } from '../kernels/matmul.js';
import type { View } from '../../ir/view.js';
import type { AnchorLowering, LowerContext, Lowering } from './lowering.js';

/** A matmul operand's layout from the view it is read through, its batch broadcast to `batchShape`. */
function layoutOf(view: View, batchShape: Shape): MatmulOperandLayout {
  const r = view.shape.length;
  const off = batchShape.length - (r - 2);
  return {
    offset: view.offset,
    batchStrides: batchShape.map((d, i) => (i < off || (view.shape[i - off] === 1 && d !== 1) ? 0 : view.strides[i - off]!)),
    outer: view.strides[r - 2]!,
    inner: view.strides[r - 1]!,
  };
}

/** The problem a matmul kernel solves, as tuning keys it: shape, batch and dtype. */
export function matmulSignature(m: number, n: number, k: number, batch: number, dtype: string): string {
  return `${dtype}:${batch}x${m}x${k}x${n}`;
}

export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['vec4b', 'scalar', 'tiled'];

const matmul: AnchorLowering = (node, epilogue, views, ctx) => lowerMatmul(node, epilogue, views, ctx);

/** matmul, optionally with an epilogue, views, and A stored as `aDType` (a cast fused in front). */
export function lowerMatmul(node: Node, epilogue?: Epilogue, views?: readonly (View | undefined)[], ctx?: LowerContext, aDType?: DType): EmittedKernel {
  const [a, b] = node.inputs.map((v) => v.type.shape) as [Shape, Shape];
  const [m, k] = a.slice(-2) as [number, number];
  const n = b.at(-1)!;
  const batchShape = node.output.type.shape.slice(0, -2);
  const [aView, bView] = views ?? [];
  const batch = batchShape.reduce((p, d) => p * d, 1);
  const chosen = ctx?.choose?.('matmul', matmulSignature(m, n, k, batch, node.inputs[0]!.type.dtype), MATMUL_VARIANTS);
  return emitMatmul({
    ...(chosen ? { variant: chosen as MatmulVariant } : {}),
    ...(aDType && aDType !== node.inputs[0]!.type.dtype ? { aDType } : {}),
    name: epilogue ? `matmul_${epilogue.name}` : 'matmul', dtype: node.inputs[0]!.type.dtype, m, n, k, batchShape, ...(epilogue ? { epilogue } : {}),
    aBatchStrides: broadcastStrides(a.slice(0, -2), batchShape).map((s) => s * m * k),
    bBatchStrides: broadcastStrides(b.slice(0, -2), batchShape).map((s) => s * k * n),
    ...(aView ? { aLayout: layoutOf(aView, batchShape) } : {}),
    ...(bView ? { bLayout: layoutOf(bView, batchShape) } : {}),
  });
}

export const matmulLowerings: Record<string, Lowering> = { matmul: (n, ctx) => matmul(n, undefined, undefined, ctx) };

/** matmul takes a fused epilogue. */
export const matmulAnchors: Record<string, AnchorLowering> = { matmul };
