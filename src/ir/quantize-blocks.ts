import { tensorData, type TensorData } from './tensor-data.js';
import { f16BitsToF32, f32ToF16Bits } from './f16.js';

// Blockwise-quantized matrices (ONNX Runtime's MatMulNBits and GatherBlockQuantized: 2, 4 or 8
// bits a value, a scale and a zero point per block of `block` values), stored as the GPU kernels
// read them: a matrix W [R, C] in row-major order, each element an unsigned `bits`-bit code, 32 /
// bits codes a u32 word with the lowest bits first (element i is bits (i % P) * bits.. of word
// i / P, P = 32 / bits), so a load takes one word and extractBits. Blocks run along `axis`:
// - 0, down the columns (a matmul weight [K, N], blocks along K): element (r, c) belongs to
//   block (r / block) * C + c;
// - 1, along the rows (an embedding table [V, H], blocks along H): element (r, c) belongs to
//   block r * ceil(C / block) + c / block.
// The block indexes the scales and the zero points. Then W[r, c] = (code - zero point) * scale,
// computed in f32 as a kernel does. Zero points are codes packed like the weight, or floats of
// the scales' type, or absent (2^(bits - 1), the middle).

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The bits a code may take. */
export const BLOCK_CODE_BITS: readonly number[] = [2, 4, 8];

/** u32 words holding `count` codes of `bits` bits. */
export function codeWords(count: number, bits: number): number {
  return Math.ceil((count * bits) / 32);
}

/** Code `i` of packed words. */
export function codeAt(words: ArrayLike<number>, i: number, bits: number): number {
  const per = 32 / bits;
  return (words[Math.floor(i / per)]! >>> ((i % per) * bits)) & ((1 << bits) - 1);
}

/**
 * `count` codes packed 32 / bits a u32 word, lowest bits first: `fill` gives code i (below
 * 2^bits) by put(i, code), in any order (a caller moving codes between layouts visits them in
 * the order its memory prefers: an LLM's weights hold 10^8 codes).
 */
export function packCodesOf(count: number, bits: number, fill: (put: (i: number, code: number) => void) => void): TensorData {
  // Integer steps: 32 / bits is a power of two.
  const shift = Math.log2(32 / bits);
  const lane = 32 / bits - 1;
  const words = new Uint32Array(codeWords(count, bits));
  fill((i, code) => { words[i >>> shift] = words[i >>> shift]! | (code << ((i & lane) * bits)); });
  return tensorData('u32', [words.length], words);
}

/** Bytes (0..255) as little-endian u32 words, the last one padded with zeros: codes already packed in bytes, lowest bits first. */
export function wordsOfBytes(bytes: ArrayLike<number>): TensorData {
  const words = new Uint32Array(Math.ceil(bytes.length / 4));
  // Bytes in an array already: copied whole where the host's words are little-endian too.
  if (bytes instanceof Uint8Array && LITTLE_ENDIAN) {
    new Uint8Array(words.buffer).set(bytes);
    return tensorData('u32', [words.length], words);
  }
  for (let i = 0; i < bytes.length; i++) words[i >>> 2] = words[i >>> 2]! | (bytes[i]! << ((i & 3) * 8));
  return tensorData('u32', [words.length], words);
}

/** Codes (each below 2^bits) packed 32 / bits a u32 word, lowest bits first. */
export function packCodes(codes: ArrayLike<number>, bits: number): TensorData {
  return packCodesOf(codes.length, bits, (put) => { for (let i = 0; i < codes.length; i++) put(i, codes[i]!); });
}

/** Blocks of an [R, C] matrix with blocks of `block` values along `axis`. */
export function blockCount(shape: readonly number[], block: number, axis = 0): number {
  const [r, c] = shape as [number, number];
  return axis === 0 ? Math.ceil(r / block) * c : r * Math.ceil(c / block);
}

/** The block of element i of an [R, C] matrix with blocks of `block` values along `axis`. */
export function blockOf(i: number, shape: readonly number[], block: number, axis: number): number {
  const c = shape[1]!;
  return axis === 0 ? Math.floor(i / (c * block)) * c + (i % c) : Math.floor(i / c) * Math.ceil(c / block) + Math.floor((i % c) / block);
}

/** A float tensor's values as numbers (f16 is stored as bits). */
function floats(t: TensorData): ArrayLike<number> {
  return t.dtype === 'f16' ? Array.from(t.data as Uint16Array, f16BitsToF32) : t.data;
}

/** A blockwise-quantized [R, C] matrix (its codes, scales and zero points, blocks along `axis`). */
export interface BlockwiseMatrix {
  readonly codes: TensorData;
  readonly scales: TensorData;
  readonly zeros: TensorData | undefined;
  readonly shape: readonly number[];
  readonly bits: number;
  readonly block: number;
  readonly axis: number;
}

/** The f32 value of element i of a blockwise matrix, as the kernels compute it (exact in f32 to Math.fround). */
export function blockwiseValue(m: BlockwiseMatrix): (i: number) => number {
  const { codes, zeros, shape, bits, block, axis } = m;
  const scale = floats(m.scales);
  const zeroFloats = zeros && zeros.dtype !== 'u32' ? floats(zeros) : undefined;
  const zero = (b: number): number => (!zeros ? 2 ** (bits - 1) : zeroFloats ? zeroFloats[b]! : codeAt(zeros.data, b, bits));
  return (i) => {
    const b = blockOf(i, shape, block, axis);
    return Math.fround(Math.fround(codeAt(codes.data, i, bits) - zero(b)) * scale[b]!);
  };
}

/** The f32 values of a blockwise-quantized matrix, as the kernels compute them. */
export function dequantizedBlocks(m: BlockwiseMatrix): Float32Array {
  const at = blockwiseValue(m);
  return Float32Array.from({ length: m.shape[0]! * m.shape[1]! }, (_, i) => at(i));
}

/**
 * A float weight [K, N] quantized to `bits`-bit codes in blocks of `block` rows of a column
 * (`kiln compile --weights int4`), asymmetric, with a zero point as MatMulNBits stores it: a
 * block spans [lo, hi] (0 included, so zeros stay exact) in 2^bits - 1 steps of its scale, its
 * zero point the code of 0. Scales are stored in the weight's type; codes are rounded against the
 * stored scale, so the kernels compute exactly the weight the codes stand for. NaN and
 * infinities are refused (RangeError).
 */
export function quantizeBlocks(w: TensorData, bits: number, block: number): { codes: TensorData; scales: TensorData; zeros: TensorData } {
  const shape = w.shape;
  const [k, n] = shape as [number, number];
  const values = floats(w);
  const top = 2 ** bits - 1;
  const blocks = blockCount(shape, block);
  const lo = new Float64Array(blocks);
  const hi = new Float64Array(blocks);
  for (let i = 0; i < k * n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`weight element ${i} is ${v}: only finite weights can be quantized`);
    const b = blockOf(i, shape, block, 0);
    lo[b] = Math.min(lo[b]!, v);
    hi[b] = Math.max(hi[b]!, v);
  }
  const scaleBits = w.dtype === 'f16' ? Uint16Array.from(lo, (l, b) => f32ToF16Bits((hi[b]! - l) / top)) : undefined;
  const scale = scaleBits ? Array.from(scaleBits, f16BitsToF32) : Array.from(lo, (l, b) => Math.fround((hi[b]! - l) / top));
  const zero = scale.map((s, b) => (s === 0 ? 0 : Math.min(top, Math.max(0, Math.round(-lo[b]! / s)))));
  const code = (i: number) => {
    const b = blockOf(i, shape, block, 0);
    return scale[b] === 0 ? zero[b]! : Math.min(top, Math.max(0, Math.round(values[i]! / scale[b]!) + zero[b]!));
  };
  return {
    codes: packCodesOf(k * n, bits, (put) => { for (let i = 0; i < k * n; i++) put(i, code(i)); }),
    scales: scaleBits ? tensorData('f16', [blocks], scaleBits) : tensorData('f32', [blocks], Float32Array.from(scale)),
    zeros: packCodes(zero, bits),
  };
}
