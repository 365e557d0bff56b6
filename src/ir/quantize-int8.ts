import { f16BitsToF32, f32ToF16Bits } from './f16.js';
import { numel, type Shape } from './types.js';
import { tensorData, type TensorData } from './tensor-data.js';

// Symmetric int8 weight quantization with one scale per output channel: w ~ q * scale, with
// q = round(w / scale) in -127..127 and scale = max|w| / 127 over the channel (0 for a channel of
// zeros, whose q are then 0). Scales are f16, two a u32 word for an f32 weight (WGSL reads them
// with unpack2x16float, no f16 feature needed): half the bytes of f32 scales, which matters for
// depthwise convs (a scale per 9 or 25 weights); f32 only where a scale is outside f16's normal
// range. Four q are packed little-endian into one u32 (element i is byte
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
  /**
   * f16 [channels] for an f16 weight; for an f32 one, f16 values two a u32 (u32[ceil(channels /
   * 2)]), or f32 [channels] when a scale is outside f16's normal range.
   */
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
  // q is computed against the stored scale, so the dequantized value is exactly q * (the scale
  // the kernel reads).
  const bits = Uint16Array.from(maxAbs, (m) => f32ToF16Bits(m / 127));
  const stored = w.dtype === 'f16' || f16Exact(maxAbs, bits) ? Float32Array.from(bits, f16BitsToF32) : Float32Array.from(maxAbs, (m) => Math.fround(m / 127));
  const words = new Uint32Array(packedWords(n));
  for (let i = 0; i < n; i++) {
    const s = stored[Math.floor(i / inner) % channels]!;
    const q = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(values[i]! / s)));
    words[i >> 2] = (words[i >> 2]! | ((q & 0xff) << ((i & 3) * 8))) >>> 0;
  }
  const scales = w.dtype === 'f16' ? tensorData('f16', [channels], bits)
    : f16Exact(maxAbs, bits) ? tensorData('u32', [packedHalves(channels)], packHalves(bits))
      : tensorData('f32', [channels], stored);
  return { packed: tensorData('u32', [words.length], words), scales };
}

/** The smallest normal f16, 2^-14: a scale below it would keep fewer bits. */
const F16_MIN_NORMAL = 2 ** -14;

/** Whether every scale (max / 127) is 0 or a normal f16 (the f16 bits of it are `bits`), so f16 keeps its 11 bits. */
function f16Exact(maxAbs: Float64Array, bits: Uint16Array): boolean {
  return maxAbs.every((m, c) => m === 0 || (m / 127 >= F16_MIN_NORMAL && Number.isFinite(f16BitsToF32(bits[c]!))));
}

/** u32 words holding `count` f16 values, two a word. */
export function packedHalves(count: number): number {
  return Math.ceil(count / 2);
}

/** f16 bits two a u32, little-endian: value c is the low half of word c / 2 for even c (WGSL's unpack2x16float order). */
function packHalves(bits: Uint16Array): Uint32Array {
  const words = new Uint32Array(packedHalves(bits.length));
  bits.forEach((b, c) => { words[c >> 1] = (words[c >> 1]! | (b << ((c & 1) * 16))) >>> 0; });
  return words;
}

/** The scales of a quantized weight as numbers: f32, f16 bits, or f16 bits two a u32 word. */
export function scaleValues(scales: TensorData, channels: number): ArrayLike<number> {
  if (scales.dtype === 'f16') return Array.from(scales.data as Uint16Array, f16BitsToF32);
  if (scales.dtype === 'u32') return Array.from({ length: channels }, (_, c) => f16BitsToF32((scales.data[c >> 1]! >>> ((c & 1) * 16)) & 0xffff));
  return scales.data;
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
