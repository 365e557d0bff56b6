import { E8M0_ROUND_MODES } from '../../../ir/ops/narrow.js';
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { kilnDType, narrowFormatOf, OnnxType, onnxTypeName } from '../onnx-types.js';
import { castTo } from './helpers.js';

/**
 * `x` cast to ONNX element type `to`: to its kiln dtype and, for a type narrower than that
 * (int8, bfloat16, float8...), rounded or wrapped into it, with Cast's `saturate` (float8) and
 * `round_mode` (float8e8m0).
 */
function castToOnnxType(n: OnnxNode, x: Operand, to: number): Operand {
  if (to === OnnxType.STRING || n.inputType(0) === OnnxType.STRING) checkStringCast(n, n.inputType(0), to);
  const dtype = kilnDType(to, `the target type of ${n.where}`);
  const format = narrowFormatOf(to);
  if (!format || n.inputType(0) === to) return castTo(n.b, x, dtype);
  const saturate = n.attrs.int('saturate', 1) !== 0;
  const mode = n.attrs.string('round_mode', 'up');
  if (!(E8M0_ROUND_MODES as readonly string[]).includes(mode)) n.fail(`round_mode must be one of ${E8M0_ROUND_MODES.join(', ')}, got '${mode}'`);
  return n.b.op('cast', [x], {
    to: dtype, format, ...(saturate ? {} : { saturate: false }), ...(format === 'float8e8m0' && mode !== 'up' ? { round_mode: mode } : {}),
  });
}

/** Number types whose values kiln holds exactly, so that their text is the value's (float and the integers). */
const TEXT_TYPES: ReadonlySet<number> = new Set([
  OnnxType.FLOAT, OnnxType.FLOAT16, OnnxType.INT8, OnnxType.INT16, OnnxType.INT32, OnnxType.INT64,
  OnnxType.UINT8, OnnxType.UINT16, OnnxType.UINT32, OnnxType.UINT64,
]);

/**
 * Casts between strings and numbers read and write text (src/runtime/cpu/kernels/number-text.ts).
 * double is held in f32, whose digits are not the double's; text to double reads into f32 as
 * every double does. bool and the narrow float types are not supported.
 */
function checkStringCast(n: OnnxNode, from: number | undefined, to: number): void {
  if (from === OnnxType.STRING && to === OnnxType.STRING) return;
  const other = from === OnnxType.STRING ? to : from;
  const ok = other !== undefined && (TEXT_TYPES.has(other) || (other === OnnxType.DOUBLE && to === OnnxType.DOUBLE));
  if (!ok) n.unsupported(`casts between string and ${other === undefined ? 'an undeclared type' : onnxTypeName(other)} are not supported (kiln casts strings to and from float, float16 and the integer types, and to double)`);
}

defineOnnxOp('Cast', (n) => {
  const to = n.attrs.int('to');
  if (to === undefined) return n.fail("needs the attribute 'to'");
  return castToOnnxType(n, n.input(0), to);
});

// Without a declared type for the target (a value computed in the graph), its kiln dtype stands for it.
defineOnnxOp('CastLike', (n) => {
  const to = n.inputType(1);
  return to !== undefined ? castToOnnxType(n, n.input(0), to) : castTo(n.b, n.input(0), typeOf(n.input(1)).dtype);
});

/** Bits of the ONNX types BitCast can reinterpret in kiln's storage (32-bit ones, and integers that wrap). */
const BIT_WIDTH: Readonly<Record<number, number>> = {
  [OnnxType.FLOAT]: 32, [OnnxType.INT32]: 32, [OnnxType.UINT32]: 32,
  [OnnxType.INT16]: 16, [OnnxType.UINT16]: 16, [OnnxType.INT8]: 8, [OnnxType.UINT8]: 8, [OnnxType.BOOL]: 8,
  [OnnxType.INT4]: 4, [OnnxType.UINT4]: 4, [OnnxType.INT2]: 2, [OnnxType.UINT2]: 2,
};

// BitCast (opset 26): the same bits read as another type of their width. Between 32-bit types
// that is WGSL's bitcast; between two's-complement integers of one width, the wrap a cast into
// the narrow target does. Types kiln stores in other widths (double, int64, float16, bfloat16,
// float8) have lost their bit pattern, so they are refused.
defineOnnxOp('BitCast', (n) => {
  const to = n.attrs.int('to');
  if (to === undefined) return n.fail("needs the attribute 'to'");
  const x = n.input(0);
  const from = n.inputType(0);
  const [wFrom, wTo] = [from === undefined ? undefined : BIT_WIDTH[from], BIT_WIDTH[to]];
  if (from === undefined || wFrom === undefined || wTo === undefined) {
    return n.unsupported(`BitCast from ${from === undefined ? typeOf(x).dtype : onnxTypeName(from)} to ${onnxTypeName(to)} is not supported (kiln keeps only float, int32, uint32 and narrow integers in their own bits)`);
  }
  if (wFrom !== wTo) return n.fail(`BitCast needs types of one width, but ${onnxTypeName(from)} has ${wFrom} bits and ${onnxTypeName(to)} ${wTo}`);
  const dtype = kilnDType(to, `the target type of ${n.where}`);
  if (wTo === 32) return typeOf(x).dtype === dtype ? x : n.b.op('bitcast', [x], { to: dtype });
  return castToOnnxType(n, x, to);
});
