// Bitwise ops and BitShift. kiln holds int8..int64 and uint8/uint16 in i32 and uint32/uint64 in
// u32. And, or, xor and right shifts give the same bits in the wider storage; not and left shifts
// of uint8/uint16 must be cut back to the type's width, which the model's declared types tell.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { OnnxType, onnxTypeName } from '../tensor.js';
import { scalarLike } from './helpers.js';

for (const [onnx, kiln] of [['BitwiseAnd', 'bitwise_and'], ['BitwiseOr', 'bitwise_or'], ['BitwiseXor', 'bitwise_xor']] as const) {
  defineOnnxOp(onnx, (n) => n.b.op(kiln, [n.input(0), n.input(1)]));
}

/** Bits of the unsigned ONNX types stored in a wider kiln integer, whose results must be masked. */
const NARROW_UNSIGNED_BITS: Readonly<Record<number, number>> = { [OnnxType.UINT8]: 8, [OnnxType.UINT16]: 16 };

/**
 * The mask of the ONNX type of operand `i` when it is an unsigned type narrower than kiln's
 * storage (uint8, uint16 in i32), 0 when the storage is exact; refuses when the type cannot be told.
 */
function narrowMask(n: OnnxNode, i: number, exactTypes: readonly number[]): number {
  const t = n.inputType(i);
  if (t !== undefined && NARROW_UNSIGNED_BITS[t]) return 2 ** NARROW_UNSIGNED_BITS[t] - 1;
  if (t !== undefined && exactTypes.includes(t)) return 0;
  const stored = typeOf(n.input(i)).dtype;
  return n.unsupported(t === undefined
    ? `the ONNX type of its ${stored} operand is not declared (kiln stores several integer types as ${stored} and needs to know which)`
    : `operands of type ${onnxTypeName(t)} are not supported`);
}

function masked(n: OnnxNode, x: Operand, mask: number): Operand {
  return mask ? n.b.op('bitwise_and', [x, scalarLike(n.b, x, mask)]) : x;
}

// ~x of a uint8 held in i32 must keep 8 bits; uint64 is refused: its complement does not fit u32.
defineOnnxOp('BitwiseNot', (n) => {
  const x = n.input(0);
  const mask = narrowMask(n, 0, [OnnxType.INT8, OnnxType.INT16, OnnxType.INT32, OnnxType.INT64, OnnxType.UINT32]);
  return masked(n, n.b.op('bitwise_not', [x]), mask);
});

// BitShift takes unsigned operands only; shifting by the type's width or more gives 0 (NumPy).
defineOnnxOp('BitShift', (n) => {
  const direction = n.attrs.string('direction', '');
  if (direction !== 'LEFT' && direction !== 'RIGHT') n.fail(`direction must be "LEFT" or "RIGHT", got ${JSON.stringify(direction)}`);
  const [x, s] = [n.input(0), n.input(1)];
  if (direction === 'RIGHT') return n.b.op('shift_right', [x, s]);
  // u32 holds uint32 and uint64 (within its range) exactly: only i32 storage (uint8/16) is cut back.
  const mask = typeOf(x).dtype === 'u32' ? 0 : narrowMask(n, 0, []);
  return masked(n, n.b.op('shift_left', [x, s]), mask);
});
