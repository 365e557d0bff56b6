import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { dimsOf } from '../../ir/types.js';
import { dimText, dMul, dNumel, type Dim } from '../../ir/size-expr.js';
import type { Node } from '../../ir/graph.js';
import { emitMatmul, type MatmulOperandLayout, type MatmulVariant } from '../kernels/matmul.js';
import { weightStorage } from '../kernels/weight-load.js';
import type { View } from '../../ir/view.js';
import { withVariantAtOne, type EmittedKernel } from '../kernels/kernel.js';
import { anchorKernelName, plainLowerings, type Anchor, type AnchorIO, type LowerContext } from './lowering.js';

/** A matmul operand's layout from the view it is read through, its batch broadcast to `batchShape`. */
export function layoutOf(view: View, batchShape: readonly Dim[]): MatmulOperandLayout {
  const r = view.shape.length;
  const off = batchShape.length - (r - 2);
  return {
    offset: view.offset,
    batchStrides: batchShape.map((d, i) => (i < off || (view.shape[i - off] === 1 && d !== 1) ? 0 : view.strides[i - off]!)),
    outer: view.strides[r - 2]!,
    inner: view.strides[r - 1]!,
  };
}

/**
 * The problem a matmul kernel solves, as tuning keys it: shape, batch and dtype. Symbolic sizes
 * print as size expressions (`f32:1xBx64x32`): a chooser may pick for them (the tuner, which
 * measures fixed problems, leaves them to the heuristic).
 */
export function matmulSignature(m: Dim, n: Dim, k: Dim, batch: Dim, dtype: string): string {
  return `${dtype}:${[batch, m, k, n].map(dimText).join('x')}`;
}

export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['vec4b', 'scalar', 'tiled', 'rows1', 'block16x8', 'shuffle16x8'];

/** matmul, reading A and B as stored or through views (A also converted as it loads), with an epilogue. */
function lowerMatmul(node: Node, io: AnchorIO, ctx?: LowerContext) {
  const [a, b] = node.inputs.map((v) => dimsOf(v.type));
  const [m, k] = a!.slice(-2) as [Dim, Dim];
  const n = b!.at(-1)!;
  const batchShape = dimsOf(node.output.type).slice(0, -2);
  const [aRead, bRead] = io.operands as [AnchorIO['operands'][0], AnchorIO['operands'][0]];
  const batch = dNumel(batchShape);
  const dtype = node.inputs[0]!.type.dtype;
  const chosen = ctx?.choose?.('matmul', matmulSignature(m, n, k, batch, dtype), MATMUL_VARIANTS);
  const emit = (variant: MatmulVariant | undefined) => emitMatmul({
    ...(variant ? { variant } : {}),
    ...(aRead.dtype !== dtype ? { aDType: aRead.dtype } : {}),
    name: matmulKernelName(anchorKernelName('matmul', io), variant), dtype, m, n, k, batchShape, ...(io.epilogue ? { epilogue: io.epilogue } : {}),
    sources: { a: aRead.source, b: bRead.source, out: io.out },
    aBatchStrides: broadcastStrides(a!.slice(0, -2), batchShape).map((s) => dMul(s, m, k)),
    bBatchStrides: broadcastStrides(b!.slice(0, -2), batchShape).map((s) => dMul(s, k, n)),
    ...(aRead.view ? { aLayout: layoutOf(aRead.view, batchShape) } : {}),
    ...(bRead.view ? { bLayout: layoutOf(bRead.view, batchShape) } : {}),
    ...(bRead.read === 'dequantize' ? { bStored: weightStorage(bRead)! } : {}),
  });
  return withOneRowVariant(m, emit, chosen as MatmulVariant | undefined);
}

/**
 * The kernel `emit` makes (in the `chosen` variant; untuned, 'rows1' for a single row), and where
 * its rows `m` vary down to a single row (one token, a batch of one), the 'rows1' kernel as a
 * variant for m = 1, where the 4 x 4 blocks would do 4 times the work. Measured on lavapipe,
 * m = 1: 1.7-1.9x faster (K x N 256x1024, 1024x4096); at m = 2 on par, past that slower.
 */
export function withOneRowVariant(m: Dim, emit: (variant: MatmulVariant | undefined) => EmittedKernel, chosen?: MatmulVariant): EmittedKernel {
  if (typeof m === 'number') return emit(chosen ?? (m === 1 ? 'rows1' : undefined));
  return withVariantAtOne(emit(chosen), m, () => emit('rows1'));
}

/** A matmul kernel's name: what it computes, marked when it is the one-row variant. */
export const matmulKernelName = (base: string, variant: MatmulVariant | undefined): string => `${base}${variant === 'rows1' ? '_rows1' : ''}`;

/** matmul reads either operand through any view, converts A and dequantizes an int8 or blockwise B as it loads, and takes an elementwise epilogue. */
export const matmulAnchors: Record<string, Anchor> = {
  matmul: {
    roles: { reads: (_, i) => (i === 0 ? ['view', 'convert'] : ['view', 'dequantize']), readsView: () => true, epilogue: () => ['elementwise'] },
    lower: lowerMatmul,
  },
};

export const matmulLowerings = plainLowerings(matmulAnchors);
