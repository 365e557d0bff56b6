import { f16BitsToF32, f32ToF16Bits } from './f16.js';
import { numel, type Shape } from './types.js';
import { tensorData, type TensorData } from './tensor-data.js';

// Symmetric int8 weight quantization with one f32 scale per output channel: w ~ q * scale, with
// q = round(w / scale) in -127..127 and scale = max|w| / 127 over the channel (0 for a channel of
// zeros, whose q are then 0). Four q are packed little-endian into one u32 (element i is byte
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

/** Quantizes float tensor `w` per channel of `axis` (symmetric, max|w| / 127). NaN and infinities are refused. */
export function quantizeInt8(w: TensorData, axis: number): QuantizedWeight {
  const { channels, inner } = channelLayout(w.shape, axis);
  const values = valuesOf(w);
  const n = values.length;
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`weight element ${i} is ${v}: only finite weights can be quantized`);
    const c = Math.floor(i / inner) % channels;
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(v));
  }
  // Scales are stored in the weight's dtype; q is computed against the stored scale, so the
  // dequantized value is exactly q * (the scale the kernel reads).
  const stored = Float32Array.from(maxAbs, (m) => Math.fround(m / 127));
  const scaleBits = w.dtype === 'f16' ? Uint16Array.from(stored, f32ToF16Bits) : undefined;
  const scaleOf = scaleBits ? (c: number) => f16BitsToF32(scaleBits[c]!) : (c: number) => stored[c]!;
  const words = new Uint32Array(packedWords(n));
  for (let i = 0; i < n; i++) {
    const s = scaleOf(Math.floor(i / inner) % channels);
    const q = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(values[i]! / s)));
    words[i >> 2] = (words[i >> 2]! | ((q & 0xff) << ((i & 3) * 8))) >>> 0;
  }
  return {
    packed: tensorData('u32', [words.length], words),
    scales: scaleBits ? tensorData('f16', [channels], scaleBits) : tensorData('f32', [channels], stored),
  };
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
