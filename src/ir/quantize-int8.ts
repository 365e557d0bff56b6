import { f16BitsToF32, f32ToF16Bits } from './f16.js';
import { numel, type Shape } from './types.js';
import { tensorData, type TensorData } from './tensor-data.js';

// Symmetric int8 weight quantization with one f32 scale per output channel: w ~ q * scale, with
// q = round(w / scale) clamped to -127..127. The scale is the one of max|w| * r / 127, r among
// CLIP_RATIOS, with the least squared error over the channel: clipping a channel's few largest
// weights buys a finer step for all the others, which on the PP-OCR classifier cut the output
// error of int8 weights by about a fifth against plain absmax (r = 1), data-free. A channel of
// zeros has scale 0 and q 0. Four q are packed little-endian into one u32 (element i is byte
// i % 4 of word i / 4, as two's complement), so a kernel gets them with one load and bit
// extraction: WGSL's unpack4xI8 needs a language extension, extractBits on i32 does not.

/** Where the channel of a flat element index is: channel(i) = floor(i / inner) % channels. */
export interface ChannelLayout {
  readonly channels: number;
  readonly inner: number;
}

/** The channel layout of a tensor of `shape` quantized per index of `axis`. */
export function channelLayout(shape: Shape, axis: number): ChannelLayout {
  return { channels: shape[axis]!, inner: numel(shape.slice(axis + 1)) };
}

/** u32 words holding `count` packed int8 values. */
export function packedWords(count: number): number {
  return Math.ceil(count / 4);
}

/** A float tensor's values as numbers (f16 is stored as bits on the host). */
function valuesOf(t: TensorData): ArrayLike<number> {
  if (t.dtype === 'f16') return Array.from(t.data as Uint16Array, f16BitsToF32);
  return t.data;
}

/** The quantized form of a float weight: packed int8 values and one scale per channel of `axis`. */
export interface QuantizedWeight {
  /** u32[ceil(n / 4)]: the int8 values, four a word. */
  readonly packed: TensorData;
  /** [channels] in the weight's dtype (f32, or f16 under fp16). */
  readonly scales: TensorData;
}

/** Quantizes float tensor `w` per channel of `axis` (symmetric, least-squares clipping). NaN and infinities are refused. */
export function quantizeInt8(w: TensorData, axis: number): QuantizedWeight {
  const { channels, inner } = channelLayout(w.shape, axis);
  const values = valuesOf(w);
  const n = values.length;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i]!)) throw new RangeError(`weight element ${i} is ${values[i]}: only finite weights can be quantized`);
  }
  // Scales are stored in the weight's dtype; q is computed against the stored scale, so the
  // dequantized value is exactly q * (the scale the kernel reads).
  const asStored = w.dtype === 'f16' ? (x: number) => f16BitsToF32(f32ToF16Bits(x)) : Math.fround;
  const words = new Uint32Array(packedWords(n));
  const stored = new Float32Array(channels);
  const channel = new Float64Array(n / channels);
  for (let c = 0; c < channels; c++) {
    // Element k of channel c is flat element at(k).
    const at = (k: number) => (Math.floor(k / inner) * channels + c) * inner + (k % inner);
    for (let k = 0; k < channel.length; k++) channel[k] = values[at(k)]!;
    const s = (stored[c] = leastSquaresScale(channel, asStored));
    for (let k = 0; k < channel.length; k++) {
      const i = at(k);
      words[i >> 2] = (words[i >> 2]! | ((quantized(channel[k]!, s) & 0xff) << ((i & 3) * 8))) >>> 0;
    }
  }
  return {
    packed: tensorData('u32', [words.length], words),
    scales: w.dtype === 'f16' ? tensorData('f16', [channels], Uint16Array.from(stored, f32ToF16Bits)) : tensorData('f32', [channels], stored),
  };
}

/** The clipping ratios tried for a channel's range: max|w| down to 0.8 max|w| in steps of 1%. */
const CLIP_RATIOS = Array.from({ length: 21 }, (_, k) => 1 - k / 100);

/** The int8 value of `v` at scale `s` (0 for scale 0). */
function quantized(v: number, s: number): number {
  return s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(v / s)));
}

/** The stored scale, of max|v| * r / 127 for r in CLIP_RATIOS, whose int8 values have the least squared error against `v`. */
function leastSquaresScale(v: Float64Array, asStored: (x: number) => number): number {
  let max = 0;
  for (let k = 0; k < v.length; k++) max = Math.max(max, Math.abs(v[k]!));
  let best = 0;
  let bestError = Infinity;
  for (const r of CLIP_RATIOS) {
    const s = asStored((max * r) / 127);
    let error = 0;
    for (let k = 0; k < v.length && error < bestError; k++) error += (v[k]! - s * quantized(v[k]!, s)) ** 2;
    if (error < bestError) [best, bestError] = [s, error];
  }
  return best;
}

/** The int8 value of element `i` of packed words. */
export function unpackInt8(words: ArrayLike<number>, i: number): number {
  const byte = (words[i >> 2]! >>> ((i & 3) * 8)) & 0xff;
  return byte >= 128 ? byte - 256 : byte;
}

/** The float values a quantized weight stands for, as numbers: q * scale of its channel. */
export function dequantizedValues(packed: ArrayLike<number>, scales: ArrayLike<number>, count: number, layout: ChannelLayout): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = unpackInt8(packed, i) * scales[Math.floor(i / layout.inner) % layout.channels]!;
  return out;
}
