// MatMulInteger and QLinearMatMul, and through integerMatMul ONNX Runtime's DynamicQuantizeMatMul,
// MatMulIntegerToFloat and QGemm. kiln's matmul kernels accumulate in f32, exact while every
// partial sum stays below 2^24 (exact-sums.ts), so a product whose sums could reach that is split
// along K: a matmul a range of K, summed in i32 (the same products, so one matmul's work).
import { isConst, typeOf, type Operand } from '../builder.js';
import { constArray } from '../tensor.js';
import { eachChannel, unitInt8Weight } from './stored-weights.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { OnnxType } from '../onnx-types.js';
import { castTo, reshapeTo } from './helpers.js';
import { centered, f32, quantizeTo } from './quantize.js';
import { centeredBound, evenRanges, rangeOf, rangesOfSums, sumInI32 } from './exact-sums.js';

/** A per-row parameter of a [.., M, K] operand given as an M-vector, as [M, 1]. */
const perRow = (n: OnnxNode) => (p: Operand): Operand => {
  const s = typeOf(p).shape;
  return s.length === 1 ? reshapeTo(n.b, p, [s[0]!, 1]) : p;
};
const asIs = (p: Operand): Operand => p;

/**
 * A' x (B - b_zero_point) where B is a constant 8-bit weight [K, N] and its zero point a constant
 * (one, or one a column), with B kept in 8 bits on the device as int8 (dequantize_int8 of scale
 * 1, which a one-row product stores [N, K], see align-weights.ts): B - zp = (B - o) - (zp - o),
 * o 128 for uint8 and 0 for int8, so B - o is int8 exactly, and the product is A' x (B - o) minus
 * A's row sums times (zp - o), a column's, subtracted in i32 (a reduction of A the only kernel
 * more; none where zp = o, as ONNX Runtime's dynamic quantization writes int8 weights by default).
 * A' x (B - o) is split into ranges of K over which each column's sum of |B - o| times A's bound
 * stays below 2^24 (rangesOfSums): exact whatever A. `ai` is A' in i32. Undefined for any other B.
 */
function eightBitProduct(n: OnnxNode, ai: Operand, aBound: number, b: Operand, bzp: Operand | undefined, bType: number | undefined): Operand | undefined {
  const shape = typeOf(b).shape;
  if (!isConst(b) || shape.length !== 2 || (bType !== OnnxType.INT8 && bType !== OnnxType.UINT8) || (bzp && !isConst(bzp))) return undefined;
  const cols = shape[1]!;
  const zeros = bzp ? constArray(bzp) : [];
  if (zeros.length > 1 && zeros.length !== cols) return undefined;
  const o = bType === OnnxType.UINT8 ? 128 : 0;
  const values = constArray(b);
  const stored = new Int32Array(values.length);
  const own = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    stored[i] = values[i]! - o;
    own[i] = Math.abs(stored[i]!);
  }
  // B's rows are its input channels, its columns the outputs. Never undefined: a term is at most 128 x 255.
  const ranges = rangesOfSums(own, cols, aBound)!;
  const a = f32(n, ai);
  const rank = typeOf(a).shape.length;
  const product = sumInI32(n, ranges.map(([k0, k1]) => {
    return n.b.op('matmul', [rangeOf(n, a, rank - 1, [k0, k1]), unitInt8Weight(n, stored.subarray(k0 * cols, k1 * cols), 0, [k1 - k0, cols], 1)]);
  }));
  const shift = eachChannel(zeros, cols).map((z) => z - o);
  if (shift.every((c) => c === 0)) return product;
  const rowSums = n.b.op('sum', [ai], { axes: [rank - 1], keepdims: true });
  return n.b.op('sub', [castTo(n.b, product, 'i32'), n.b.op('mul', [rowSums, n.b.tensor('i32', [cols], shift)])]);
}

/**
 * (a - a_zero_point) x (b - b_zero_point), exactly: a's zero point per row, b's per column; a
 * constant 8-bit b kept in its bits (eightBitProduct), any other in i32, split into ranges of K
 * of at most 2^24 / (a's bound x b's bound) products. In i32, or in f32 where one f32 matmul
 * holds it exactly.
 */
export function integerMatMul(n: OnnxNode, a: Operand, azp: Operand | undefined, aType: number | undefined, b: Operand, bzp: Operand | undefined, bType: number | undefined): Operand {
  const rankA = typeOf(a).shape.length;
  const rankB = typeOf(b).shape.length;
  if (rankA < 2 || rankB < 2) n.unsupported('integer matmul of 1-D operands is not supported');
  const aBound = centeredBound(n, aType, 'A');
  const ai = centered(n, a, azp, perRow(n));
  const stored = eightBitProduct(n, ai, aBound, b, bzp, bType);
  if (stored) return stored;
  const bi = centered(n, b, bzp, asIs);
  return sumInI32(n, evenRanges(typeOf(a).shape[rankA - 1]!, aBound * centeredBound(n, bType, 'B')).map((r) => n.b.op('matmul', [rangeOf(n, ai, rankA - 1, r), rangeOf(n, bi, rankB - 2, r)])));
}

defineOnnxOp('MatMulInteger', (n) => castTo(n.b, integerMatMul(n, n.input(0), n.optional(2), n.inputType(0), n.input(1), n.optional(3), n.inputType(1)), 'i32'));

// QLinearMatMul: the integer product requantized: saturate(round(C * a_scale * b_scale / y_scale) + y_zero_point).
defineOnnxOp('QLinearMatMul', (n) => {
  const c = integerMatMul(n, n.input(0), n.optional(2), n.inputType(0), n.input(3), n.optional(5), n.inputType(3));
  const scale = n.b.op('div', [n.b.op('mul', [f32(n, perRow(n)(n.input(1))), f32(n, n.input(4))]), f32(n, n.input(6))]);
  const t = n.inputType(7) ?? n.inputType(0) ?? OnnxType.UINT8;
  return quantizeTo(n, n.b.op('mul', [f32(n, c), scale]), n.optional(7), t, true);
});
