// A QDQ model's weights (DequantizeLinear of a constant int8 or uint8 tensor, as ONNX Runtime's
// static quantizer writes them) kept 8-bit on the device where a conv, matmul or gemm reads them:
// the import folds the DequantizeLinear to floats as usual, remembering where they came from
// (ConstTensor.dequantizedFrom), and the weight reader takes the 8-bit form instead, which its
// kernel dequantizes as it loads. Every other reader (a Gather, a Transpose) gets the floats.
import { isConst, typeOf, type Operand } from '../builder.js';
import type { OnnxNode } from '../node.js';
import { OnnxType } from '../onnx-types.js';
import { constTensor, makeConst, type ConstTensor } from '../tensor.js';
import type { Value } from '../../../ir/graph.js';
import { packCodes, wordsOfBytes } from '../../../ir/quantize-blocks.js';

/** Quantization parameters `p` (none: 0; one for all; or one a channel) as one a channel. */
export function eachChannel(p: ArrayLike<number>, channels: number): number[] {
  return Array.from({ length: channels }, (_, c) => (p.length === 0 ? 0 : p[p.length === 1 ? 0 : c]!));
}

/**
 * Weight operand `w` of a reader whose kernels load a weight's channels along `channelAxis` (a
 * conv's output channels, a matmul's columns): its 8-bit form where it has one that fits, as
 * eightBitWeight's; else `w` itself.
 */
export function storedWeight(n: OnnxNode, w: Operand, channelAxis: number): Operand {
  const q = isConst(w) ? w.dequantizedFrom : undefined;
  const shape = typeOf(w).shape;
  if (!q || typeOf(w).dtype !== 'f32') return w;
  // Per-axis parameters must run along the reader's channels; a single one serves any.
  if ((q.scales.length > 1 || q.zeros.length > 1) && q.axis !== channelAxis) return w;
  const channels = shape[channelAxis]!;
  const scales = makeConst('scales', 'f32', [channels], eachChannel(q.scales, channels));
  return eightBitWeight(n, q.values, q.onnxType, scales, eachChannel(q.zeros, channels), shape, channelAxis) ?? w;
}

/**
 * An 8-bit weight (ONNX type INT8 or UINT8; its scales and zero points one a channel along
 * `channelAxis`) as its reader's kernels load it: dequantize_int8 where it is int8 with zero points
 * 0 (four values a word, a scale a channel; a one-row product's is then stored [N, K], see
 * align-weights.ts), else, for a [K, N] matmul weight (its columns the channels),
 * dequantize_blocks; undefined for any other.
 */
export function eightBitWeight(n: OnnxNode, values: ArrayLike<number>, onnxType: number, scales: ConstTensor, zeros: readonly number[], shape: readonly number[], channelAxis: number): Value | undefined {
  if (onnxType === OnnxType.INT8 && zeros.every((z) => z === 0)) return int8Weight(n, values, 0, scales, shape, channelAxis);
  if (shape.length !== 2 || channelAxis !== 1) return undefined;
  return eightBitColumns(n, values, onnxType, scales, zeros, shape);
}

/** dequantize_int8 of `values` plus `offset` (each then in the int8 range), a scale a channel along `channelAxis`. */
export function int8Weight(n: OnnxNode, values: ArrayLike<number>, offset: number, scales: ConstTensor, shape: readonly number[], channelAxis: number): Value {
  const packed = constTensor('packed', wordsOfBytes(bytesOf(values, offset)));
  return n.b.graph.addNode('dequantize_int8', [n.b.value(packed), n.b.value(scales)], { shape: [...shape], axis: channelAxis }).output;
}

/** int8Weight of scale 1: integers kept as they are, a byte a value (the integer matmuls' and convs' weights). */
export function unitInt8Weight(n: OnnxNode, values: ArrayLike<number>, offset: number, shape: readonly number[], channelAxis: number): Value {
  const channels = shape[channelAxis]!;
  return int8Weight(n, values, offset, makeConst('scales', 'f32', [channels], new Array<number>(channels).fill(1)), shape, channelAxis);
}

/**
 * An 8-bit [K, N] weight (ONNX type INT8 or UINT8) as dequantize_blocks: a block a column with
 * its scale (`scales`, [N]) and zero point; int8 values and zero points are stored 128 higher,
 * as codes are unsigned.
 */
function eightBitColumns(n: OnnxNode, values: ArrayLike<number>, onnxType: number, scales: ConstTensor, zeros: readonly number[], shape: readonly number[]): Value {
  const offset = onnxType === OnnxType.INT8 ? 128 : 0;
  const codes = constTensor('codes', wordsOfBytes(bytesOf(values, offset)));
  const zeroCodes = constTensor('zeros', packCodes(zeros.map((z) => z + offset), 8));
  return n.b.graph.addNode('dequantize_blocks', [codes, scales, zeroCodes].map((c) => n.b.value(c)), { shape: [...shape], bits: 8, block: shape[0]! }).output;
}

/** 8-bit values plus `offset`, as bytes (two's complement where negative; an LLM's weights hold 10^8 of them: no intermediate array of numbers). */
function bytesOf(values: ArrayLike<number>, offset: number): Uint8Array {
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = values[i]! + offset;
  return bytes;
}
