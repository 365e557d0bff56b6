import { conv2dGeometry, convTranspose2dGeometry, type ConvGeometry } from '../../ir/ops/conv.js';
import type { Node } from '../../ir/graph.js';
import type { DType } from '../../ir/types.js';
import type { ConvKernelSpec } from '../kernels/conv-common.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { emitConvDepthwise } from '../kernels/conv-depthwise.js';
import { emitConvDirect, type DirectConvBlocking } from '../kernels/conv-direct.js';
import { emitConvTranspose } from '../kernels/conv-transpose.js';
import type { AnchorLowering, Lowering } from './lowering.js';
import type { Epilogue } from '../kernels/epilogue.js';
import type { View } from '../../ir/view.js';

// Chooses a convolution kernel variant per node. Variants sit side by side in
// kernels/conv-*.ts; later, per-adapter measurements can replace these shape rules.

function kernelSpec(node: Node, geometry: ConvGeometry, epilogue?: Epilogue, xView?: View, inputScale?: { batchStride: number }): ConvKernelSpec {
  // x may be stored in another dtype than the weights: a narrowing cast of it read as it loads.
  const [xDType, dtype] = node.inputs.map((v) => v.type.dtype) as [DType, DType];
  return {
    ...(inputScale ? { inputScale } : {}),
    name: epilogue ? `${node.op}_${epilogue.name}` : node.op, dtype, geometry,
    ...(xDType !== dtype ? { xDType } : {}),
    hasBias: node.inputs.length === 3, ...(epilogue ? { epilogue } : {}),
    ...(xView ? { input: { offset: xView.offset, sN: xView.strides[0]!, sC: xView.strides[1]!, sH: xView.strides[2]! } } : {}),
  };
}

/** conv2d reads x through a view when its rows stay contiguous (splits and slices of channels or batch). */
export function convReadsView(v: View): boolean {
  return v.shape.length === 4 && (v.strides[3] === 1 || v.shape[3] === 1) && v.strides.every((s) => s >= 0);
}

/**
 * Register blocking of the direct kernel: 4 output channels x 8 output columns (measured best
 * of 4x4, 4x8 and 2x8 on lavapipe for ResNet-like layers), narrower when a group has fewer
 * channels or the output fewer columns, since idle lanes are wasted work. The longer of the
 * two candidate inner loops (input channels, or kernel columns) goes innermost, so its setup
 * is amortised: channels for 1x1 and deep layers, taps for an RGB stem with a 7x7 kernel.
 * Only a few distinct blockings exist, so models keep few shaders.
 */
export function directBlocking(g: ConvGeometry): DirectConvBlocking {
  const pixels = g.outW >= 8 ? 8 : g.outW >= 4 ? 4 : g.outW >= 2 ? 2 : 1;
  return { channels: Math.min(4, g.outPerGroup), pixels, innerLoop: g.inPerGroup >= g.kernelW ? 'channels' : 'taps' };
}

const conv2d: AnchorLowering = (node, epilogue, views) => lowerConv2d(node, epilogue, views);

/**
 * conv2d, optionally with an epilogue, reading x through a view, and scaling x per channel as it
 * reads it (`inputScale`, the direct kernel only: the fusion pass offers it for ungrouped convs).
 */
export function lowerConv2d(node: Node, epilogue?: Epilogue, views?: readonly (View | undefined)[], inputScale?: { batchStride: number }): EmittedKernel {
  const [x, w] = node.inputs.map((v) => v.type.shape);
  const g = conv2dGeometry(x!, w!, node.attrs);
  const xView = views?.[0];
  if (xView && !convReadsView(xView)) throw new Error(`internal: conv2d cannot read a view with strides [${xView.strides.join(',')}]`);
  if (views?.slice(1).some((v) => v)) throw new Error('internal: conv2d reads its weights and bias directly');
  const spec = kernelSpec(node, g, epilogue, xView, inputScale);
  if (inputScale && g.groups > 1) throw new Error('internal: a per-channel input scale needs an ungrouped conv2d');
  // One input channel per group (depthwise, any multiplier): nothing to block over channels.
  if (g.groups > 1 && g.inPerGroup === 1) return emitConvDepthwise(spec);
  return emitConvDirect(spec, directBlocking(g));
}

const convTranspose2d: Lowering = (node) => {
  const [x, w] = node.inputs.map((v) => v.type.shape);
  return emitConvTranspose(kernelSpec(node, convTranspose2dGeometry(x!, w!, node.attrs)));
};

export const convLowerings: Record<string, Lowering> = { conv2d: (n) => conv2d(n), conv_transpose2d: convTranspose2d };

/** Conv ops that take a fused epilogue. */
export const convAnchors: Record<string, AnchorLowering> = { conv2d };
