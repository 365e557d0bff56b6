import { OpTypeError } from '../errors.js';
import { packedHalves, packedWords } from '../quantize-int8.js';
import { BLOCK_CODE_BITS, blockCount, codeWords } from '../quantize-blocks.js';
import { numel, type DType, type TensorType } from '../types.js';
import type { AttrsOf } from '../attrs.js';
import { defineOp } from './registry.js';

/** dequantize_int8's attributes: the weight's shape and the axis its scales run along. */
export const dequantizeInt8Attrs = { shape: { kind: 'ints' }, axis: { kind: 'int' } } as const;

/**
 * dequantize_int8(packed: u32[ceil(n/4)], scales: f[C] | u32[ceil(C/2)]) {shape, axis}: the
 * float weight of `shape` whose element i is int8 value i of `packed` (four a word,
 * little-endian) times the scale of its index along `axis` (quantize-int8.ts). f32 or f16 scales
 * give a weight of their dtype; u32 scales hold f16 values two a word and give an f32 weight. The quantize-weights pass puts it between
 * a weight and the matmul, gemm or conv reading it; their kernels do it as they load the weight.
 */
defineOp({
  name: 'dequantize_int8', kind: 'opaque', inputs: 2,
  attrs: dequantizeInt8Attrs,
  infer: ([packed, scales], attrs) => {
    const shape = [...attrs.shape];
    if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new OpTypeError(`shape [${shape.join(',')}] is not a list of extents`);
    if (attrs.axis < 0 || attrs.axis >= shape.length) throw new OpTypeError(`axis ${attrs.axis} is out of range for shape [${shape.join(',')}]`);
    if (packed!.dtype !== 'u32' || packed!.shape.length !== 1 || packed!.shape[0] !== packedWords(numel(shape))) {
      throw new OpTypeError(`packed values must be u32[${packedWords(numel(shape))}] for shape [${shape.join(',')}], got ${packed!.dtype}[${packed!.shape.join(',')}]`);
    }
    const s = scales!;
    const channels = shape[attrs.axis]!;
    // f16 scales two a u32 word stand for an f32 weight.
    const length = s.dtype === 'u32' ? packedHalves(channels) : channels;
    if ((s.dtype !== 'f32' && s.dtype !== 'f16' && s.dtype !== 'u32') || s.shape.length !== 1 || s.shape[0] !== length) {
      throw new OpTypeError(`scales must be f32 or f16 [${channels}] (one per index of axis ${attrs.axis}) or u32[${packedHalves(channels)}] (f16 two a word), got ${s.dtype}[${s.shape.join(',')}]`);
    }
    return [{ dtype: s.dtype === 'f16' ? 'f16' : 'f32', shape }];
  },
});

/** dequantize_blocks's and gather_blocks's attributes: the matrix's shape, the bits of a code, and the values of a block. */
export const dequantizeBlocksAttrs = { shape: { kind: 'ints' }, bits: { kind: 'int' }, block: { kind: 'int' } } as const;

/** Checks a blockwise matrix's codes, scales and zero points (blocks along `axis`); returns its float type. */
function blockwiseType(codes: TensorType, scales: TensorType, zeros: TensorType | undefined, attrs: AttrsOf<typeof dequantizeBlocksAttrs>, axis: number): { dtype: DType; shape: number[] } {
  const { shape, bits, block } = attrs;
  if (shape.length !== 2 || shape.some((d) => !Number.isSafeInteger(d) || d <= 0)) throw new OpTypeError(`shape [${shape.join(',')}] is not a matrix`);
  if (!BLOCK_CODE_BITS.includes(bits)) throw new OpTypeError(`bits=${bits}: codes take ${BLOCK_CODE_BITS.join(', ')} bits`);
  if (!(Number.isSafeInteger(block) && block > 0)) throw new OpTypeError(`block=${block} is not a positive count`);
  const words = codeWords(numel(shape), bits);
  const blocks = blockCount(shape, block, axis);
  const vector = (t: TensorType, dtype: readonly string[], length: number) => t.shape.length === 1 && t.shape[0] === length && dtype.includes(t.dtype);
  if (!vector(codes, ['u32'], words)) throw new OpTypeError(`codes must be u32[${words}] (${bits}-bit codes of [${shape.join(',')}], ${32 / bits} a word), got ${codes.dtype}[${codes.shape.join(',')}]`);
  if (!vector(scales, ['f32', 'f16'], blocks)) throw new OpTypeError(`scales must be f32 or f16 [${blocks}] (one per block of ${block} values along axis ${axis}), got ${scales.dtype}[${scales.shape.join(',')}]`);
  if (zeros && !vector(zeros, [scales.dtype], blocks) && !vector(zeros, ['u32'], codeWords(blocks, bits))) {
    throw new OpTypeError(`zero points must be ${bits}-bit codes u32[${codeWords(blocks, bits)}] or ${scales.dtype}[${blocks}], got ${zeros.dtype}[${zeros.shape.join(',')}]`);
  }
  return { dtype: scales.dtype, shape: [...shape] };
}

/**
 * dequantize_blocks(codes: u32[words], scales: f[blocks], zeros?: u32[words] | f[blocks])
 * {shape: [K, N], bits, block}: the float weight [K, N] whose element (k, n) is (code - zero point)
 * * scale of block (k / block) * N + n, codes packed 32 / bits a word (quantize-blocks.ts, blocks
 * along axis 0). The ONNX importer makes it for ONNX Runtime's MatMulNBits; the matmul reading it
 * dequantizes as it loads, so the weight stays in its bits on the device.
 */
defineOp({
  name: 'dequantize_blocks', kind: 'opaque', inputs: [2, 3],
  attrs: dequantizeBlocksAttrs,
  infer: ([codes, scales, zeros], attrs) => [blockwiseType(codes!, scales!, zeros, attrs, 0)],
});

/**
 * gather_blocks(indices: i32[...], codes, scales, zeros?) {shape: [V, H], bits, block}: rows of
 * the blockwise table [V, H] (blocks of `block` values along its rows, quantize-blocks.ts axis 1)
 * picked by index, as gather along axis 0: [..., H]; negative indices count from the end. The
 * ONNX importer makes it for ONNX Runtime's GatherBlockQuantized (an LLM's 4-bit token
 * embedding), so the table stays in its bits on the device.
 */
defineOp({
  name: 'gather_blocks', kind: 'opaque', inputs: [3, 4],
  attrs: dequantizeBlocksAttrs,
  infer: ([indices, codes, scales, zeros], attrs) => {
    if (indices!.dtype !== 'i32') throw new OpTypeError(`indices must be i32, got ${indices!.dtype}`);
    const table = blockwiseType(codes!, scales!, zeros, attrs, 1);
    return [{ dtype: table.dtype, shape: [...indices!.shape, table.shape[1]!] }];
  },
});
