import { attrsOf } from '../../../ir/attrs.js';
import { f32ToF16Bits } from '../../../ir/f16.js';
import { dequantizeBlocksAttrs, dequantizeInt8Attrs } from '../../../ir/ops/quantize.js';
import { dequantizedBlocks } from '../../../ir/quantize-blocks.js';
import { channelLayout, dequantizedValues, scaleValues } from '../../../ir/quantize-int8.js';
import { alloc, type CpuKernel } from './kernel.js';

/** The weight a packed int8 tensor and its scales stand for, exactly as the GPU kernels load it. */
const dequantizeInt8: CpuKernel = (node, [packed, scales]) => {
  const { shape, axis } = attrsOf(node, dequantizeInt8Attrs);
  const out = alloc(node.output.type);
  const layout = channelLayout(shape, axis);
  const values = dequantizedValues(packed!.data, scaleValues(scales!, layout.channels), out.data.length, layout);
  if (out.dtype === 'f16') for (let i = 0; i < values.length; i++) out.data[i] = f32ToF16Bits(values[i]!);
  else out.data.set(values);
  return [out];
};

/** The weight blockwise codes, scales and zero points stand for, exactly as the GPU kernels load it. */
const dequantizeBlocks: CpuKernel = (node, [codes, scales, zeros]) => {
  const { shape, bits, block } = attrsOf(node, dequantizeBlocksAttrs);
  const out = alloc(node.output.type);
  const values = dequantizedBlocks(codes!, scales!, zeros, shape, bits, block);
  if (out.dtype === 'f16') for (let i = 0; i < values.length; i++) out.data[i] = f32ToF16Bits(values[i]!);
  else out.data.set(values);
  return [out];
};

export const quantizeKernels: Record<string, CpuKernel> = { dequantize_int8: dequantizeInt8, dequantize_blocks: dequantizeBlocks };
