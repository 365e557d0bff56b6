import { tensorData, type TensorData } from './tensor-data.js';
import { f16BitsToF32 } from './f16.js';

// Blockwise-quantized matrices (ONNX Runtime's MatMulNBits: 2, 4 or 8 bits a value, a scale and
// a zero point per block of `block` rows of a column), stored as the GPU kernels read them: a
// weight W [K, N] in row-major order, each element an unsigned `bits`-bit code, 32 / bits codes a
// u32 word with the lowest bits first (element i is bits (i % P) * bits.. of word i / P, P = 32 /
// bits), so a load takes one word and extractBits. Blocks run down the columns: element (k, n)
// belongs to block (k / block) * N + n, which indexes the scales and the zero points. Then
// W[k, n] = (code - zero point) * scale, computed in f32 as a kernel does. Zero points are codes
// packed like the weight, or floats of the scales' type, or absent (2^(bits - 1), the middle).

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

/** Codes (each below 2^bits) packed 32 / bits a u32 word, lowest bits first. */
export function packCodes(codes: ArrayLike<number>, bits: number): TensorData {
  return packCodesOf(codes.length, bits, (put) => { for (let i = 0; i < codes.length; i++) put(i, codes[i]!); });
}

/** Blocks of a [K, N] weight with blocks of `block` rows: ceil(K / block) * N. */
export function blockCount(shape: readonly number[], block: number): number {
  return Math.ceil(shape[0]! / block) * shape[1]!;
}

/** A float tensor's values as numbers (f16 is stored as bits). */
function floats(t: TensorData): ArrayLike<number> {
  return t.dtype === 'f16' ? Array.from(t.data as Uint16Array, f16BitsToF32) : t.data;
}

/** The f32 values of a blockwise-quantized [K, N] weight, as the kernels compute them. */
export function dequantizedBlocks(codes: TensorData, scales: TensorData, zeros: TensorData | undefined, shape: readonly number[], bits: number, block: number): Float32Array {
  const [k, n] = shape as [number, number];
  const scale = floats(scales);
  const zeroFloats = zeros && zeros.dtype !== 'u32' ? floats(zeros) : undefined;
  const zero = (b: number): number => (!zeros ? 2 ** (bits - 1) : zeroFloats ? zeroFloats[b]! : codeAt(zeros.data, b, bits));
  const out = new Float32Array(k * n);
  for (let i = 0; i < k * n; i++) {
    const b = Math.floor(i / (n * block)) * n + (i % n);
    out[i] = Math.fround(codeAt(codes.data, i, bits) - zero(b)) * scale[b]!;
  }
  return out;
}
