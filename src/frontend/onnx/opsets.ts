// Which versions of the default ONNX operator set kiln imports, and the per-op facts of those
// versions that the importer checks (from ONNX's operator changelog). Versions of a mapped op
// that only widened its types need nothing here: the dtype table (onnx-types.ts) decides which
// element types kiln stores. Changes of behaviour live in the mapping, which reads `n.opset`.
//
// The versions after opset 21, from ONNX's operator documentation:
//   22  bfloat16 added to most float ops (Conv, pools, activations, trigonometry, RNNs...)
//   23  float4e2m1 added to Cast, CastLike, Constant, ConstantOfShape, Flatten, Identity, If,
//       Loop, Pad, Reshape, Scan, Shape, Size, Squeeze, Transpose, Unsqueeze (and the
//       quantizers); Attention, RMSNormalization, RotaryEmbedding added
//   24  float8e8m0 added to the same ops; Cast and CastLike take `round_mode` (float8e8m0 only);
//       Swish, TensorScatter added; new versions of Attention and TopK
//   25  int2 and uint2 added to the same ops
//   26  BitCast added
//   27  Range takes float16 and bfloat16 (computed in `stash_type`, f32 by default)
//   28  Celu takes float16 and bfloat16

/** Opsets of the default domain kiln imports. */
export const MIN_OPSET = 1;
export const MAX_OPSET = 28;

/**
 * The first opset of each mapped op that ONNX added after opset 1: a model stamped with an
 * older opset cannot use it (ONNX's checker refuses such a model, and so does kiln).
 * LayerNormalization (17) is not listed: ONNX Runtime registers it in the default domain at
 * every opset, and its transformer optimizer writes it into models of older opsets.
 */
export const OP_SINCE: Readonly<Record<string, number>> = {
  Expand: 8, ConstantOfShape: 9, Erf: 9, Shrink: 9, Sign: 9, Where: 9,
  Resize: 10, ThresholdedRelu: 10, Range: 11, Round: 11, Celu: 12, GreaterOrEqual: 12,
  LessOrEqual: 12, HardSwish: 14, CastLike: 15, Mish: 18, Gelu: 20,
  Swish: 24, BitCast: 26, SequenceEmpty: 11, SequenceConstruct: 11, SequenceLength: 11,
  SequenceAt: 11, SequenceInsert: 11, SequenceErase: 11, SplitToSequence: 11, ConcatFromSequence: 11,
  Optional: 15, OptionalHasElement: 15, OptionalGetElement: 15, SequenceMap: 17,
  StringNormalizer: 10, StringConcat: 20, StringSplit: 20, RegexFullMatch: 20,
};

/** Why op `opType` cannot appear in a model of `opset`, or undefined when it can. */
export function opNotInOpset(opType: string, opset: number): string | undefined {
  const since = OP_SINCE[opType];
  return since !== undefined && opset < since ? `${opType} exists from opset ${since} on, but the model imports opset ${opset}` : undefined;
}
