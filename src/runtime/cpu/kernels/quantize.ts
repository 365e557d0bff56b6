import { attrsOf } from '../../../ir/attrs.js';
import { f32ToF16Bits } from '../../../ir/f16.js';
import { dequantizeBlocksAttrs, dequantizeInt8Attrs } from '../../../ir/ops/quantize.js';
import { blockwiseValue, dequantizedBlocks } from '../../../ir/quantize-blocks.js';
import { KilnError } from '../../../ir/errors.js';
import type { TensorData } from '../../../ir/tensor-data.js';
import { channelLayout, dequantizedValues, scaleValues } from '../../../ir/quantize-int8.js';
import { alloc, type CpuKernel } from './kernel.js';

/** An f32 result as the output's dtype (f16 rounds). */
function asOutput(out: TensorData, values: Float32Array): TensorData {
  if (out.dtype === 'f16') for (let i = 0; i < values.length; i++) out.data[i] = f32ToF16Bits(values[i]!);
  else out.data.set(values);
  return out;
}

/** The weight a packed int8 tensor and its scales stand for, exactly as the GPU kernels load it. */
const dequantizeInt8: CpuKernel = (node, [packed, scales]) => {
  const { shape, axis } = attrsOf(node, dequantizeInt8Attrs);
  const out = alloc(node.output.type);
  const layout = channelLayout(shape, axis);
  return [asOutput(out, dequantizedValues(packed!.data, scaleValues(scales!, layout.channels), out.data.length, layout))];
};

/** The weight blockwise codes, scales and zero points stand for, exactly as the GPU kernels load it. */
const dequantizeBlocks: CpuKernel = (node, [codes, scales, zeros]) => {
  const { shape, bits, block } = attrsOf(node, dequantizeBlocksAttrs);
  return [asOutput(alloc(node.output.type), dequantizedBlocks({ codes: codes!, scales: scales!, zeros, shape, bits, block, axis: 0 }))];
};

/** Rows of a blockwise table picked by index (negative from the end; out of range is an error here, the GPU clamps). */
const gatherBlocks: CpuKernel = (node, [indices, codes, scales, zeros]) => {
  const { shape, bits, block } = attrsOf(node, dequantizeBlocksAttrs);
  const [rows, width] = shape as [number, number];
  const at = blockwiseValue({ codes: codes!, scales: scales!, zeros, shape, bits, block, axis: 1 });
  const picked = indices!.data;
  const values = new Float32Array(picked.length * width);
  for (let t = 0; t < picked.length; t++) {
    const raw = picked[t]!;
    const row = raw < 0 ? raw + rows : raw;
    if (row < 0 || row >= rows) throw new KilnError(`${node.op} -> %${node.output.name}: index ${raw} is out of range for a table of ${rows} rows`);
    for (let c = 0; c < width; c++) values[t * width + c] = at(row * width + c);
  }
  return [asOutput(alloc(node.output.type), values)];
};

export const quantizeKernels: Record<string, CpuKernel> = { dequantize_int8: dequantizeInt8, dequantize_blocks: dequantizeBlocks, gather_blocks: gatherBlocks };
