// ONNX Runtime's blockwise-quantized weights (com.microsoft): MatMulNBits, a matmul whose
// constant weight is stored in 2 to 8 bits a value, and GatherBlockQuantized, a gather from such
// a table, as ORT's quantizer and ONNX Runtime GenAI's model builder write LLM projections and
// embeddings (`--precision int4`). MatMulNBits's weight stays in its bits: it imports as a matmul
// of dequantize_blocks (quantize-blocks.ts), which the matmul kernel does as it loads, exact to
// ORT's float dequantization. GatherBlockQuantized's table is dequantized when the model is
// imported, so it runs as any gather, stored in the float type.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { OnnxType } from '../onnx-types.js';
import { constArray, constTensor, constValues, makeConst } from '../tensor.js';
import type { TensorData } from '../../../ir/tensor-data.js';
import { BLOCK_CODE_BITS, packCodes, packCodesOf, wordsOfBytes } from '../../../ir/quantize-blocks.js';
import { castTo, reshapeTo } from './helpers.js';
import { ms } from './contrib.js';

/** Code `index` of the `bits`-bit codes packed from byte `start` on (low bits first within a byte). */
function packedCode(bytes: ArrayLike<number>, start: number, index: number, bits: number): number {
  const perByte = 8 / bits;
  return (bytes[start + Math.floor(index / perByte)]! >> ((index % perByte) * bits)) & ((1 << bits) - 1);
}

/**
 * The zero point of each (row, block): 2^(bits-1) when absent, else read from the packed
 * uint8 input (ceil(blocks * bits / 8) bytes a row, low bits first) or a float one (one a block).
 */
function zeroPoints(n: OnnxNode, input: number | undefined, rows: number, blocks: number, bits: number): (row: number, block: number) => number {
  const zp = input === undefined ? undefined : n.optional(input);
  if (!zp) return () => 2 ** (bits - 1);
  const values = constValues(n.constant(input!, 'zero points'));
  if (typeOf(zp).dtype !== 'i32') {
    if (values.length !== rows * blocks) n.fail(`float zero_points must have N * blocks = ${rows * blocks} elements, got ${values.length}`);
    return (row, block) => values[row * blocks + block]!;
  }
  const perRow = Math.ceil((blocks * bits) / 8);
  if (values.length !== rows * perRow) n.fail(`packed zero_points must have N * ceil(blocks * bits / 8) = ${rows * perRow} bytes, got ${values.length}`);
  return (row, block) => packedCode(values, row * perRow, block, bits);
}

/** Columns of MatMulNBits's weight moved to the [K, N] layout at a time. */
const TILE = 64;

/** Where a MatMulNBits-style product's weight is among a node's inputs: B, its scales, and optional zero points and bias. */
export interface NBitsInputs {
  readonly b: number;
  readonly scales: number;
  readonly zeros?: number;
  readonly bias?: number;
}

/**
 * `a` times the weight [K = k, N = rows] a node holds as MatMulNBits does (`inputs`, `bits` a
 * value in blocks of `blockSize` along K), plus its bias: a matmul of dequantize_blocks, the
 * weight kept in its bits. MatMulNBits and ORT's fusions of it (MatMulNBitsMlp, MatMulNBitsQkv)
 * share it.
 */
export function nBitsProduct(n: OnnxNode, a: Operand, inputs: NBitsInputs, k: number, rows: number, bits: number, blockSize: number): Operand {
  if (!BLOCK_CODE_BITS.includes(bits)) n.unsupported(`bits=${bits} is not supported (${BLOCK_CODE_BITS.join(', ')} are)`);
  if (!(k > 0 && rows > 0)) n.fail(`needs positive K and N attributes, got K=${k}, N=${rows}`);
  if (!(blockSize >= 16 && (blockSize & (blockSize - 1)) === 0)) n.fail(`block_size must be a power of 2 of at least 16, got ${blockSize}`);
  if (typeOf(a).shape.at(-1) !== k) n.fail(`A's last dimension ${typeOf(a).shape.at(-1)} must be K = ${k}`);
  const blocks = Math.ceil(k / blockSize);
  const blob = (blockSize * bits) / 8;
  const weight = n.constant(inputs.b, 'quantized weight');
  const bytes = constArray(weight);
  if (bytes.length !== rows * blocks * blob) n.fail(`B must hold N * ceil(K / block_size) * block_size * bits / 8 = ${rows * blocks * blob} bytes, got ${bytes.length}`);
  const scales = constValues(n.constant(inputs.scales, 'scales'));
  if (scales.length !== rows * blocks) n.fail(`scales must have N * ceil(K / block_size) = ${rows * blocks} elements, got ${scales.length}`);
  const zeroPoint = zeroPoints(n, inputs.zeros, rows, blocks, bits);

  // W [K, N] as dequantize_blocks stores it: codes and blocks laid out by W's rows (k), so
  // W[j, r] is code j * N + r; MatMulNBits keeps each column r's codes together.
  // By tiles of TILE columns: each of their codes is read once from a few cache lines, and the
  // packed words are written in order.
  const [rowBytes, perByte, mask] = [blocks * blob, 8 / bits, (1 << bits) - 1];
  const relaid = (put: (i: number, code: number) => void) => {
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      for (let j = 0; j < k; j++) {
        // Code j of a column: byte j / perByte of its row, from bit (j % perByte) * bits (packedCode's order).
        const [byte, shift] = [Math.floor(j / perByte), (j % perByte) * bits];
        for (let r = r0; r < Math.min(r0 + TILE, rows); r++) put(j * rows + r, (bytes[r * rowBytes + byte]! >> shift) & mask);
      }
    }
  };
  const byBlock = (at: (row: number, block: number) => number) => Array.from({ length: blocks * rows }, (_, i) => at(i % rows, Math.floor(i / rows)));
  const scaleType = typeOf(n.input(inputs.scales)).dtype;
  // Named after the weight, so artifact buffers (and `kiln inspect`) show which weights are blockwise.
  const stored = (part: string, data: TensorData) => {
    const name = `${weight.name}.${part}`;
    return n.b.graph.addNode('const', [], { value: data }, { device: 'webgpu', ...(n.b.graph.hasName(name) ? {} : { names: [name] }) }).output;
  };
  const parts = [
    stored('codes', packCodesOf(k * rows, bits, relaid)),
    stored('scales', makeConst('scales', scaleType, [blocks * rows], byBlock((r, b) => scales[r * blocks + b]!)).data),
  ];
  if (inputs.zeros !== undefined && n.optional(inputs.zeros)) {
    const zeros = byBlock(zeroPoint);
    parts.push(stored('zeros', typeOf(n.input(inputs.zeros)).dtype === 'i32' ? packCodes(zeros, bits) : makeConst('zeros', scaleType, [blocks * rows], zeros).data));
  }
  // Added as nodes, not folded as ops of constants are: folding would store the floats.
  const w = n.b.graph.addNode('dequantize_blocks', parts, { shape: [k, rows], bits, block: blockSize }).output;
  const dtype = typeOf(a).dtype;
  const y = n.b.op('matmul', [a, castTo(n.b, w, dtype)]);
  const bias = inputs.bias === undefined ? undefined : n.optional(inputs.bias);
  return bias ? n.b.op('add', [y, castTo(n.b, bias, dtype)]) : y;
}

defineOnnxOp(ms('MatMulNBits'), (n) => {
  if (n.optional(4)) n.unsupported('g_idx (act-order block indices) is not supported');
  const dims = [n.attrs.int('K', 0), n.attrs.int('N', 0), n.attrs.int('bits', 4), n.attrs.int('block_size', 0)] as const;
  return nBitsProduct(n, n.input(0), { b: 1, scales: 2, zeros: 3, bias: 5 }, ...dims);
});

// GatherBlockQuantized: Gather from a table quantized blockwise along its last axis (the
// embedding of a 4-bit LLM export): uint8 packing 2, 4 or 8 bits a code (low bits first), or
// int4 / uint4. A table [V, H] gathered along V stays in its bits (gather_blocks, the rows
// dequantized as they are gathered); other tables are dequantized at import. An index out of
// range gives zeros, as ORT.
defineOnnxOp(ms('GatherBlockQuantized'), (n) => {
  const table = n.constant(0, 'quantized data');
  const packed = n.inputType(0) === OnnxType.UINT8;
  const bits = packed ? n.attrs.int('bits', 4) : 4;
  if (!BLOCK_CODE_BITS.includes(bits)) n.unsupported(`bits=${bits} is not supported (${BLOCK_CODE_BITS.join(', ')} are)`);
  const stored = table.data.shape;
  const rank = stored.length;
  const perByte = packed ? 8 / bits : 1;
  const width = stored[rank - 1]! * perByte;
  const shape = [...stored.slice(0, -1), width];
  const quantizeAxis = n.attrs.int('quantize_axis', 1);
  if (quantizeAxis !== rank - 1 && quantizeAxis !== -1) n.unsupported(`quantize_axis ${quantizeAxis} is not supported (the last axis is)`);
  const blockSize = n.attrs.int('block_size', 128);
  const blocks = Math.ceil(width / blockSize);
  const rows = shape.slice(0, -1).reduce((p, d) => p * d, 1);
  const codes = constArray(table);
  const code = (r: number, j: number): number => (packed ? packedCode(codes, r * stored[rank - 1]!, j, bits) : codes[r * width + j]!);
  const scales = constValues(n.constant(2, 'scales'));
  if (scales.length !== rows * blocks) n.fail(`scales must have ${rows * blocks} elements (${blocks} blocks of ${blockSize} a row), got ${scales.length}`);
  const zp = n.optional(3) ? constValues(n.constant(3, 'zero points')) : undefined;
  const zpBytes = Math.ceil(blocks / perByte);
  const zeroPoint = (r: number, b: number): number => {
    if (!zp) return packed ? 2 ** (bits - 1) : 0;
    return packed ? packedCode(zp, r * zpBytes, b, bits) : zp[r * blocks + b]!;
  };
  const axis = n.attrs.int('gather_axis', 0);
  const gatherAxis = axis < 0 ? axis + rank : axis;
  const extent = shape[gatherAxis]!;
  const raw = castTo(n.b, n.input(1), 'i32');
  const index = n.b.op('where', [n.b.op('less', [raw, n.b.scalar('i32', 0)]), n.b.op('add', [raw, n.b.scalar('i32', extent)]), raw]);
  const inRange = n.b.op('logical_and', [n.b.op('greater_equal', [index, n.b.scalar('i32', 0)]), n.b.op('less', [index, n.b.scalar('i32', extent)])]);
  const safe = n.b.op('where', [inRange, index, n.b.scalar('i32', 0)]);
  const scaleType = typeOf(n.input(2)).dtype;
  let gathered: Operand;
  let mask: Operand;
  if (rank === 2 && gatherAxis === 0) {
    // Codes are unsigned: int4's -8..7 are stored 8 higher, and so are its zero points.
    const offset = n.inputType(0) === OnnxType.INT4 ? 8 : 0;
    // A uint8 table's bytes are its codes in order (a row fills whole bytes), four a word.
    const words = packed ? wordsOfBytes(codes) : packCodesOf(rows * width, bits, (put) => { for (let i = 0; i < rows * width; i++) put(i, codes[i]! + offset); });
    const parts = [
      n.b.value(constTensor('codes', words)),
      n.b.value(makeConst('scales', scaleType, [rows * blocks], scales)),
    ];
    // dequantize's default zero point is 2^(bits - 1): absent ones elsewhere (uint4's 0) are given.
    if (zp || (!packed && offset === 0)) parts.push(n.b.value(constTensor('zeros', packCodes(Array.from({ length: rows * blocks }, (_, i) => zeroPoint(Math.floor(i / blocks), i % blocks) + offset), bits))));
    gathered = n.b.graph.addNode('gather_blocks', [n.b.value(safe), ...parts], { shape: [rows, width], bits, block: blockSize }).output;
    mask = n.b.op('unsqueeze', [inRange], { axes: [-1] });
  } else {
    const values = new Array<number>(rows * width);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < width; j++) {
        const b = Math.floor(j / blockSize);
        values[r * width + j] = (code(r, j) - zeroPoint(r, b)) * scales[r * blocks + b]!;
      }
    }
    gathered = n.b.op('gather', [n.b.tensor(scaleType, shape, values), safe], { axis: gatherAxis });
    mask = reshapeTo(n.b, inRange, [...new Array<number>(gatherAxis).fill(1), ...typeOf(safe).shape, ...new Array<number>(rank - gatherAxis - 1).fill(1)]);
  }
  return n.b.op('where', [mask, gathered, n.b.scalar(typeOf(gathered).dtype, 0)]);
});
