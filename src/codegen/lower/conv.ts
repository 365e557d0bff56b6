import { KilnError } from '../../ir/errors.js';
import { conv2dGeometry, convTranspose2dGeometry } from '../../ir/ops/conv.js';
import { dimsOf } from '../../ir/types.js';
import { dimRange } from '../../ir/size-expr.js';
import type { Node } from '../../ir/graph.js';
import { kernelGeometry, rowVec4Io, type ConvKernelGeometry, type ConvKernelSpec, type ConvVec4Io } from '../kernels/conv-common.js';
import { withVariantAtOne, type EmittedKernel } from '../kernels/kernel.js';
import { emitConvDepthwise } from '../kernels/conv-depthwise.js';
import { emitConvDirect, type DirectConvBlocking } from '../kernels/conv-direct.js';
import { convGemmApplies, emitConvGemm } from '../kernels/conv-gemm.js';
import { emitConvTranspose } from '../kernels/conv-transpose.js';
import { convTransposeRowsApplies, emitConvTransposeRows, transposeRowsBlocking } from '../kernels/conv-transpose-rows.js';
import { convRowsApplies, emitConvRows, type RowsConvBlocking } from '../kernels/conv-rows.js';
import { rowLoads } from '../kernels/conv-row-columns.js';
import { convDepthwiseRowsApplies, emitConvDepthwiseRows } from '../kernels/conv-depthwise-rows.js';
import { convPointwiseMatmulApplies, emitConvPointwiseMatmul } from '../kernels/conv-pointwise-matmul.js';
import { emitConvPointwisePair, pointwisePairProblem } from '../kernels/conv-pointwise-pair.js';
import { anchorKernelName, plainLowerings, type Anchor, type AnchorIO, type AnchorOperand, type LowerContext, type Lowering } from './lowering.js';
import type { View } from '../../ir/view.js';
import { int8Storage } from '../kernels/weight-load.js';

// Chooses a convolution kernel variant per node. Variants sit side by side in
// kernels/conv-*.ts; later, per-adapter measurements can replace these shape rules.

function kernelSpec(node: Node, geometry: ConvKernelGeometry, io: AnchorIO): ConvKernelSpec {
  const [x, w, bias] = io.operands as [AnchorOperand, AnchorOperand, AnchorOperand?];
  const dtype = node.inputs[1]!.type.dtype;
  const xView = x.view;
  if (w.int8 && (w.int8.channels !== geometry.outChannels || w.int8.inner !== geometry.inPerGroup * geometry.kernelH * geometry.kernelW)) {
    throw new KilnError(`${node.op} %${node.output.name}: its int8 weight must have one scale per output channel (axis 0)`);
  }
  return {
    name: anchorKernelName(node.op, io), dtype, geometry, hasBias: bias !== undefined,
    sources: { x: x.source, w: w.source, ...(bias ? { bias: bias.source } : {}), ...(x.scale ? { scale: x.scale.source } : {}), out: io.out },
    // x may be stored in another dtype than the weights: a cast of it converted as it loads.
    ...(x.dtype !== dtype ? { xDType: x.dtype } : {}),
    ...(x.scale ? { inputScale: { batchStride: x.scale.batchStride } } : {}),
    ...(w.int8 ? { wInt8: int8Storage(w)! } : {}),
    ...(io.epilogue ? { epilogue: io.epilogue } : {}),
    ...(xView ? { input: { offset: xView.offset, sN: xView.strides[0]!, sC: xView.strides[1]!, sH: xView.strides[2]! } } : {}),
  };
}

/** conv2d reads x through a view when its rows stay contiguous (splits and slices of channels or batch). */
export function convReadsView(v: View): boolean {
  return v.shape.length === 4 && (v.strides[3] === 1 || v.shape[3] === 1) && v.strides.every((s) => dimRange(s)[0] >= 0);
}

/**
 * Register blocking of the direct kernel: 4 output channels x 8 output columns (measured best
 * of 4x4, 4x8 and 2x8 on lavapipe for ResNet-like layers), narrower when a group has fewer
 * channels or the output fewer columns, since idle lanes are wasted work. The longer of the
 * two candidate inner loops (input channels, or kernel columns) goes innermost, so its setup
 * is amortised: channels for 1x1 and deep layers, taps for an RGB stem with a 7x7 kernel.
 * Only a few distinct blockings exist, so models keep few shaders.
 */
export function directBlocking(g: ConvKernelGeometry): DirectConvBlocking {
  // For a width that varies, its largest value decides (any blocking is correct at any width).
  const outW = dimRange(g.outW)[1];
  const pixels = outW >= 8 ? 8 : outW >= 4 ? 4 : outW >= 2 ? 2 : 1;
  return { channels: Math.min(4, g.outPerGroup), pixels, innerLoop: g.inPerGroup >= g.kernelW ? 'channels' : 'taps' };
}

/**
 * Register blocking of the row kernel. Channels: up to 8 output channels of a group per
 * invocation (measured on lavapipe for a 1x1 layer of 32 to 200 channels at 2x96: 1, 2, 4, 8
 * channels took 1.03, 0.66, 0.43, 0.32 ms; 16 no better than 8), since each input value loaded
 * then feeds that many FMAs; a depthwise conv has only its channel multiplier. With shared
 * weights (`shareWeights`), whose loads no longer grow with the channels, a window one tap wide
 * takes 16: PP-OCR cls's 1x1 layers summed 7.0 -> 6.4 ms, a 96 -> 192 layer at 40x40 took 11
 * instead of 15 ms. Columns: the count whose row of workgroups costs least, a workgroup's cost
 * taken as a fixed overhead (4), plus half the loads an invocation makes per tap row (see
 * rowLoads: columns, or quads where x is read four columns at a time, `vec4`), plus its FMAs per
 * tap row over 24 (columns x taps x channels), so a width is covered with few idle lanes and wide
 * windows are reused; at most 12, beyond which the accumulators spill for no gain. Measured on
 * lavapipe, minima of 3 to 5 trials: a 5x5 depthwise layer 96 wide took 0.75, 0.59, 0.68,
 * 0.46 ms at 4, 6, 8, 12 columns; a 3x3 layer of 96 -> 24 channels 80 wide 12.0, 9.3, 12.2 ms
 * at 4 (quads), 5, 8 (quads): idle lanes cost more than the quads save; 160 wide 42, 52, 36 ms.
 */
export function rowsBlocking(g: ConvKernelGeometry, shareWeights = false, vec4: ConvVec4Io = {}): RowsConvBlocking {
  const lanes = 8;
  const channels = Math.min(g.inPerGroup === 1 && g.groups > 1 ? 4 : shareWeights && g.kernelW === 1 ? 16 : 8, g.outPerGroup);
  const outW = dimRange(g.outW)[1];
  // Columns a multiple of 4 are read four at a time where x allows (see rowVec4Io).
  const cost = (p: number) => Math.ceil(outW / (lanes * p)) * (4 + rowLoads(g, p, vec4.x === true && p % 4 === 0) / 2 + (p * g.kernelW * channels) / 24);
  let pixels = 1;
  for (let p = 2; p <= Math.min(12, Math.floor(MAX_ROW_ACCUMULATORS / channels)); p++) if (cost(p) < cost(pixels)) pixels = p;
  return { channels, pixels, lanes, ...(shareWeights ? { shareWeights } : {}) };
}

/** The row kernel's blocking for a spec: four columns a load and store where its layout allows. */
function rowsBlockingOf(spec: ConvKernelSpec, shareWeights: boolean): RowsConvBlocking {
  return rowsBlocking(spec.geometry, shareWeights, rowVec4Io(spec, 4));
}

/**
 * Accumulators (channels x pixels) a row-kernel invocation may keep. lavapipe's compile time
 * grows steeply with them: PP-OCR cls's 1x1 layers (8 channels) at 12 pixels took 26.5 s to
 * compile cold, at 8 pixels 9.8 s (6.8 s with the direct kernel), for most of the speed.
 */
const MAX_ROW_ACCUMULATORS = 64;

/**
 * Kernel variants of a conv2d: register-blocked direct (flat over outputs; the depthwise kernel
 * for one input channel per group), implicit GEMM with workgroup tiles (ungrouped), by output
 * rows with uniform weights and an unrolled window (see conv-rows.ts; `rowsg` loads each weight
 * once a subgroup), or, for depthwise convs, by output rows with the window a loop (see
 * conv-depthwise-rows.ts; `dwrowsg` shares a window row's first taps across a subgroup); a
 * pointwise conv also as the shuffle16x8 matmul (`pointmm`, see conv-pointwise-matmul.ts).
 */
export const CONV_VARIANTS = ['direct', 'gemm', 'rows', 'rowsg', 'dwrows', 'dwrowsg', 'pointmm'] as const;

/** Whether each variant serves a convolution. */
const VARIANT_APPLIES: Record<(typeof CONV_VARIANTS)[number], (spec: ConvKernelSpec) => boolean> = {
  direct: () => true,
  gemm: convGemmApplies,
  rows: (spec) => convRowsApplies(spec.geometry, rowsBlockingOf(spec, false)),
  rowsg: (spec) => convRowsApplies(spec.geometry, rowsBlockingOf(spec, true)),
  dwrows: convDepthwiseRowsApplies,
  dwrowsg: convDepthwiseRowsApplies,
  pointmm: convPointwiseMatmulApplies,
};

/** The variants that serve a convolution. */
function convVariants(spec: ConvKernelSpec): string[] {
  return CONV_VARIANTS.filter((v) => VARIANT_APPLIES[v](spec));
}

/**
 * The problem a conv2d kernel solves, as tuning and the heuristics key it:
 * dtype:N x C x H x W -> O x OH x OW, kernel, stride, dilation, padding, groups when more than one
 * (a varying extent by its largest value).
 */
export function convSignature(g: ConvKernelGeometry, dtype: string): string {
  const max = (d: ConvKernelGeometry['batch']) => dimRange(d)[1];
  return `${dtype}:${max(g.batch)}x${g.inChannels}x${max(g.inH)}x${max(g.inW)}->${g.outChannels}x${max(g.outH)}x${max(g.outW)}`
    + `:k${g.kernelH}x${g.kernelW}:s${g.strideH}x${g.strideW}:d${g.dilationH}x${g.dilationW}:p${g.padTop},${g.padLeft},${g.padBottom},${g.padRight}`
    + (g.groups > 1 ? `:g${g.groups}` : '');
}

/**
 * conv2d, reading x as stored, through a view, converted as it loads, or scaled per channel (the
 * direct kernel only: its roles offer the scale to ungrouped convs), with an epilogue.
 */
function lowerConv2d(node: Node, io: AnchorIO, ctx?: LowerContext): EmittedKernel {
  const spec = conv2dSpec(node, io);
  const variant = chooseVariant(spec, spec.geometry, ctx);
  // A batch that varies down to one (a program for 1..N images) is chosen for at its largest; a
  // batch of one may want another kernel (PP-OCR cls's 32 -> 200 1x1 layers: pointmm for 32
  // images, rowsg for one), carried as a variant for it.
  return withVariantAtOne(emitConvVariant(spec, variant), spec.geometry.batch, () => {
    const single = chooseVariant(spec, { ...spec.geometry, batch: 1 }, ctx);
    return single === variant ? undefined : emitConvVariant(spec, single);
  });
}

/** A conv2d node's kernel spec, its extents from the values' dims. */
function conv2dSpec(node: Node, io: AnchorIO): ConvKernelSpec {
  const [x, w] = node.inputs.map((v) => v.type.shape);
  const g = kernelGeometry(conv2dGeometry(x!, w!, node.attrs), dimsOf(node.inputs[0]!.type), dimsOf(node.output.type));
  const xView = io.operands[0]!.view;
  if (xView && !convReadsView(xView)) throw new Error(`internal: conv2d cannot read a view with strides [${xView.strides.join(',')}]`);
  const spec = kernelSpec(node, g, io);
  if (spec.inputScale && g.groups > 1) throw new Error('internal: a per-channel input scale needs an ungrouped conv2d');
  return spec;
}

/** The variant tuning or the heuristic picks for `spec` at the extents `at`; 'direct' where it names none that serves. */
function chooseVariant(spec: ConvKernelSpec, at: ConvKernelGeometry, ctx?: LowerContext): string {
  const variants = convVariants(spec);
  const pick = ctx?.choose?.('conv', convSignature(at, spec.dtype), variants);
  return pick !== undefined && variants.includes(pick) ? pick : 'direct';
}

/** A conv2d's node and what its kernel reads, runs after itself and writes. */
type ConvWork = { readonly anchor: Node; readonly io: AnchorIO };

/**
 * Kernel variants of a pair of convolutions (see lower/pointwise-pair.ts): one kernel for both
 * (`pair`), or each its own kernel in its own variant (`separate`).
 */
export const CONV_PAIR_VARIANTS = ['pair', 'separate'] as const;

/**
 * A conv2d and the 1x1 conv2d reading its output (see lower/pointwise-pair.ts), with the depthwise
 * conv2d in front when there is one, as one kernel, where the pair kernel serves them and the
 * chooser picks it (`conv_pair`, signed by the members' conv signatures joined by `+`), or, when
 * it picks none (the heuristic), where the pair would each take the row kernel with shared
 * weights (`rowsg`) at every batch it runs; else undefined.
 */
export function pointwisePairKernel(name: string, first: ConvWork, second: ConvWork, ctx?: LowerContext, depthwise?: ConvWork): EmittedKernel | undefined {
  const [a, b] = [first, second].map((c) => conv2dSpec(c.anchor, c.io)) as [ConvKernelSpec, ConvKernelSpec];
  const pair = { name, first: a, second: b, ...(depthwise ? { depthwise: conv2dSpec(depthwise.anchor, depthwise.io) } : {}) };
  if (pointwisePairProblem(pair) !== undefined) return undefined;
  // The members' own choices first: a tuner times `separate` in them.
  const rowsg = [a, b].every((s) => [s.geometry, { ...s.geometry, batch: 1 }].every((at) => chooseVariant(s, at, ctx) === 'rowsg'));
  const members = [...(pair.depthwise ? [pair.depthwise] : []), a, b];
  const pick = ctx?.choose?.('conv_pair', members.map((s) => convSignature(s.geometry, s.dtype)).join('+'), CONV_PAIR_VARIANTS);
  return (pick === undefined ? rowsg : pick === 'pair') ? emitConvPointwisePair(pair) : undefined;
}

/** A conv2d's kernel in the named variant (one of convVariants). */
function emitConvVariant(spec: ConvKernelSpec, variant: string): EmittedKernel {
  const g = spec.geometry;
  if (variant === 'rows' || variant === 'rowsg') return emitConvRows(spec, rowsBlockingOf(spec, variant === 'rowsg'));
  if (variant === 'dwrows' || variant === 'dwrowsg') return emitConvDepthwiseRows(spec, variant === 'dwrowsg');
  if (variant === 'gemm') return emitConvGemm(spec);
  if (variant === 'pointmm') return emitConvPointwiseMatmul(spec);
  // One input channel per group (depthwise, any multiplier): nothing to block over channels.
  return g.groups > 1 && g.inPerGroup === 1 ? emitConvDepthwise(spec) : emitConvDirect(spec, directBlocking(g));
}

/**
 * Kernel variants of a conv_transpose2d: flat over outputs (`direct`), or by output rows with
 * uniform weights and the W window compiled in (`rows`, see conv-transpose-rows.ts).
 */
export const CONV_TRANSPOSE_VARIANTS = ['direct', 'rows'] as const;

/** conv_transpose2d with an epilogue, its extents from the values' dims, in the variant chosen. */
function lowerConvTranspose2d(node: Node, io: AnchorIO, ctx?: LowerContext): EmittedKernel {
  const [x, w] = node.inputs.map((v) => v.type.shape);
  const g = kernelGeometry(convTranspose2dGeometry(x!, w!, node.attrs), dimsOf(node.inputs[0]!.type), dimsOf(node.output.type));
  const spec = kernelSpec(node, g, io);
  const blocking = transposeRowsBlocking(g);
  const variants = CONV_TRANSPOSE_VARIANTS.filter((v) => v === 'direct' || convTransposeRowsApplies(g, blocking));
  const pick = ctx?.choose?.('conv_transpose', convSignature(g, spec.dtype), variants);
  return pick === 'rows' && variants.includes(pick) ? emitConvTransposeRows(spec, blocking) : emitConvTranspose(spec);
}

/**
 * conv2d reads x through a row-contiguous view, converted, or (ungrouped) scaled per channel, and
 * an int8 weight dequantized; conv_transpose2d reads its operands as stored. Both take an
 * elementwise epilogue (a bias add, batch_norm's affine map, an activation), done as they store.
 */
export const convAnchors: Record<string, Anchor> = {
  conv2d: {
    roles: {
      reads: (node, i) => (i === 1 ? ['dequantize'] : i !== 0 ? [] : node.attrs.groups === 1 ? ['view', 'convert', 'scale'] : ['view', 'convert']),
      readsView: (_, i, view) => i === 0 && convReadsView(view),
      epilogue: () => ['elementwise'],
    },
    lower: lowerConv2d,
  },
  conv_transpose2d: {
    roles: { reads: () => [], epilogue: () => ['elementwise'] },
    lower: lowerConvTranspose2d,
  },
};

export const convLowerings: Record<string, Lowering> = plainLowerings(convAnchors);
