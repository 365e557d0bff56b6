// Ops that have no gradient rule on purpose, each with the reason. Every registered op is
// either here or in gradRules (rules.ts) (a test checks it), so a new op cannot silently lack a rule.

const INTEGER = 'integer operands and result: no derivative';
const BOOL_RESULT = 'its result is bool: no derivative';
const COMPARISON = 'a comparison: its bool result has no derivative';
const INDEX_RESULT = 'its result is an index (i32), data-dependent and piecewise constant';

export const NON_DIFFERENTIABLE: Readonly<Record<string, string>> = {
  const: 'a source: it has no operands',
  fused: 'fusion runs after autodiff: differentiate the unfused graph',
  dequantize_int8: 'int8 weights are made for inference after autodiff, from constants (no gradient flows to them)',
  dequantize_blocks: 'a blockwise-quantized weight of an imported model: constant codes, scales and zero points (no gradient flows to them)',
  gather_blocks: 'rows of a blockwise-quantized table of an imported model: constant codes, scales and zero points, integer indices (no gradient flows to them)',
  bitcast: 'reinterprets bits: not a continuous function of its operand',
  bitwise_and: INTEGER, bitwise_or: INTEGER, bitwise_xor: INTEGER, bitwise_not: INTEGER,
  shift_left: INTEGER, shift_right: INTEGER,
  equal: COMPARISON, not_equal: COMPARISON, less: COMPARISON, less_equal: COMPARISON,
  greater: COMPARISON, greater_equal: COMPARISON,
  logical_and: BOOL_RESULT, logical_or: BOOL_RESULT, logical_not: BOOL_RESULT,
  is_nan: BOOL_RESULT, is_inf: BOOL_RESULT,
  argmax: INDEX_RESULT, argmin: INDEX_RESULT, max_pool2d_indices: INDEX_RESULT, nonzero: INDEX_RESULT, non_max_suppression: INDEX_RESULT,
  tfidf_vectorizer: 'its operand is integer tokens: no derivative',
  tree_ensemble: 'piecewise constant in its features (each leaf a constant): its derivative is 0 where it exists',
  label_encoder: 'a table lookup of keys (strings or exact numbers): no derivative',
  roi_align: 'TODO: no rule yet (ONNX imports it for inference; its gradient scatters each bin back to its bilinear taps)',
  deform_conv2d: 'TODO: no rule yet (ONNX imports it for inference; its gradients reach the input, weight, offsets and mask)',
  loop: 'control flow decided at run time comes from ONNX models, for inference; traced graphs, which autodiff differentiates, have none',
  if: 'control flow decided at run time comes from ONNX models, for inference; traced graphs, which autodiff differentiates, have none',
  ...Object.fromEntries(['string_concat', 'regex_full_match', 'string_split', 'string_normalizer'].map((op) => [op, 'computes on strings: no derivative'])),
  unique: 'TODO: a data-dependent selection of its operand; its rule would scatter-add the gradient of Y by inverse_indices',
};
