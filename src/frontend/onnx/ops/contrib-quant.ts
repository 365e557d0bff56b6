// ONNX Runtime's MatMulNBits (com.microsoft): a matmul whose constant weight is stored
// blockwise-quantized in 2 to 8 bits, as ORT's quantizer and ONNX Runtime GenAI's model builder
// write LLM projections (`--precision int4`). kiln dequantizes the weight when it imports the
// model, so the matmul runs as any other: exact to ORT's float dequantization, at the cost of
// storing the weight in the activation's float type.
import { typeOf } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { constValues } from '../tensor.js';
import { castTo } from './helpers.js';
import { ms } from './contrib.js';

/** The integer codes of B [N, blocks, blob] for row n, k = 0..K-1 (low bits first within a byte). */
function unpackRow(bytes: readonly number[], n: number, k: number, blocks: number, blob: number, bits: number, blockSize: number): number[] {
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Array<number>(k);
  for (let j = 0; j < k; j++) {
    const block = Math.floor(j / blockSize);
    const inBlock = j % blockSize;
    const byte = bytes[(n * blocks + block) * blob + Math.floor(inBlock / perByte)]!;
    out[j] = (byte >> ((inBlock % perByte) * bits)) & mask;
  }
  return out;
}

/**
 * The zero point of each (row, block): 2^(bits-1) when absent, else read from the packed
 * uint8 input (ceil(blocks * bits / 8) bytes a row, low bits first) or a float one (one a block).
 */
function zeroPoints(n: OnnxNode, rows: number, blocks: number, bits: number): (row: number, block: number) => number {
  const zp = n.optional(3);
  if (!zp) return () => 2 ** (bits - 1);
  const values = constValues(n.constant(3, 'zero points'));
  if (typeOf(zp).dtype !== 'i32') {
    if (values.length !== rows * blocks) n.fail(`float zero_points must have N * blocks = ${rows * blocks} elements, got ${values.length}`);
    return (row, block) => values[row * blocks + block]!;
  }
  const perRow = Math.ceil((blocks * bits) / 8);
  if (values.length !== rows * perRow) n.fail(`packed zero_points must have N * ceil(blocks * bits / 8) = ${rows * perRow} bytes, got ${values.length}`);
  const perByte = 8 / bits;
  return (row, block) => (values[row * perRow + Math.floor(block / perByte)]! >> ((block % perByte) * bits)) & ((1 << bits) - 1);
}

defineOnnxOp(ms('MatMulNBits'), (n) => {
  const a = n.input(0);
  const [k, rows] = [n.attrs.int('K', 0), n.attrs.int('N', 0)];
  const bits = n.attrs.int('bits', 4);
  const blockSize = n.attrs.int('block_size', 0);
  if (![2, 4, 8].includes(bits)) n.unsupported(`bits=${bits} is not supported (2, 4 and 8 are)`);
  if (!(k > 0 && rows > 0)) n.fail(`needs positive K and N attributes, got K=${k}, N=${rows}`);
  if (!(blockSize >= 16 && (blockSize & (blockSize - 1)) === 0)) n.fail(`block_size must be a power of 2 of at least 16, got ${blockSize}`);
  if (typeOf(a).shape.at(-1) !== k) n.fail(`A's last dimension ${typeOf(a).shape.at(-1)} must be K = ${k}`);
  if (n.optional(4)) n.unsupported('g_idx (act-order block indices) is not supported');
  const blocks = Math.ceil(k / blockSize);
  const blob = (blockSize * bits) / 8;
  const bytes = constValues(n.constant(1, 'quantized weight'));
  if (bytes.length !== rows * blocks * blob) n.fail(`B must hold N * ceil(K / block_size) * block_size * bits / 8 = ${rows * blocks * blob} bytes, got ${bytes.length}`);
  const scales = constValues(n.constant(2, 'scales'));
  if (scales.length !== rows * blocks) n.fail(`scales must have N * ceil(K / block_size) = ${rows * blocks} elements, got ${scales.length}`);
  const zeroPoint = zeroPoints(n, rows, blocks, bits);

  // W [K, N] with W[j, r] = (code - zero point) * scale of row r's block of j.
  const w = new Array<number>(k * rows);
  for (let r = 0; r < rows; r++) {
    const codes = unpackRow(bytes, r, k, blocks, blob, bits, blockSize);
    for (let j = 0; j < k; j++) {
      const block = Math.floor(j / blockSize);
      w[j * rows + r] = (codes[j]! - zeroPoint(r, block)) * scales[r * blocks + block]!;
    }
  }
  const dtype = typeOf(a).dtype;
  const y = n.b.op('matmul', [a, n.b.tensor(dtype, [k, rows], w)]);
  const bias = n.optional(5);
  return bias ? n.b.op('add', [y, castTo(n.b, bias, dtype)]) : y;
});
