// ONNX Runtime's contrib ops (domain com.microsoft) that its transformer optimizer writes into
// models: GELU variants, FusedMatMul, the fused skip and embedding normalisations, and ops it
// registers as fixed versions of ONNX's. Each decomposes into kiln ops, so they fuse and run like
// any other graph; the semantics are ORT's (its ContribOperators documentation and CPU kernels).
// The attention, quantized and fused-conv ops have files of their own (contrib-*.ts).
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, onnxMapper, type OnnxNode } from '../node.js';
import { castTo, scalarLike } from './helpers.js';
import { rmsNormalized } from './norm.js';

/** A com.microsoft op's mapper key. */
export const ms = (op: string): string => `com.microsoft.${op}`;

/** The node's input `i` plus an optional bias `j` (broadcast along the last axis). */
function withBias(n: OnnxNode, i: number, j: number): Operand {
  const x = n.input(i);
  const bias = n.optional(j);
  return bias ? n.b.op('add', [x, castTo(n.b, bias, typeOf(x).dtype)]) : x;
}

defineOnnxOp(ms('Gelu'), (n) => n.b.op('gelu', [n.input(0)], { approximate: 'none' }));

// The tanh approximation, after adding the optional bias.
defineOnnxOp(ms('FastGelu'), (n) => n.b.op('gelu', [withBias(n, 0, 1)], { approximate: 'tanh' }));

// The exact (erf) GELU of A + B.
defineOnnxOp(ms('BiasGelu'), (n) => n.b.op('gelu', [withBias(n, 0, 1)], { approximate: 'none' }));

// x * sigmoid(alpha * x), alpha 1.702 by default (CLIP's activation).
defineOnnxOp(ms('QuickGelu'), (n) => {
  const x = n.input(0);
  const alpha = n.attrs.float('alpha', 1.702);
  return n.b.op('mul', [x, n.b.op('sigmoid', [n.b.op('mul', [x, scalarLike(n.b, x, alpha)])])]);
});

// alpha * op(A) @ op(B), op transposing the last two axes where transA / transB say. The
// transBatch forms (moving the batch axes into the matrix) are refused.
defineOnnxOp(ms('FusedMatMul'), (n) => {
  for (const a of ['transBatchA', 'transBatchB']) if (n.attrs.int(a, 0) !== 0) n.unsupported(`${a}=1 is not supported`);
  const operand = (i: number, attr: string): Operand => {
    const x = n.input(i);
    const rank = typeOf(x).shape.length;
    if (rank < 2) n.unsupported(`input ${i} has rank ${rank}; kiln takes FusedMatMul of matrices or batches of them`);
    if (n.attrs.int(attr, 0) === 0) return x;
    const perm = Array.from({ length: rank }, (_, k) => k);
    [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
    return n.b.op('transpose', [x], { perm });
  };
  const y = n.b.op('matmul', [operand(0, 'transA'), operand(1, 'transB')]);
  const alpha = n.attrs.float('alpha', 1);
  return alpha === 1 ? y : n.b.op('mul', [y, scalarLike(n.b, y, alpha)]);
});

/**
 * The sum input + skip (+ bias) that the skip normalisations normalise, and that their last
 * output returns. ORT lets skip be [B, S, H], [1, S, H] or [S, H]: NumPy broadcasting covers them.
 */
function skipSum(n: OnnxNode, biasInput: number): Operand {
  const x = n.input(0);
  const skip = castTo(n.b, n.input(1), typeOf(x).dtype);
  const bias = n.optional(biasInput);
  const sum = n.b.op('add', [x, skip]);
  return bias ? n.b.op('add', [sum, castTo(n.b, bias, typeOf(x).dtype)]) : sum;
}

/** Refuses a read of the training statistics (outputs 1 and 2), which ORT's kernels leave unset. */
function noStatistics(n: OnnxNode): void {
  for (const i of [1, 2]) if (n.outputUsed(i)) n.unsupported(`its output ${i} (a training statistic) is not supported`);
}

/** RMS normalisation over the last axes from `axis`, times gamma (T5, LLaMA). */
function rmsNorm(n: OnnxNode, x: Operand, gamma: Operand, epsilon: number, axis = -1): Operand {
  return n.b.op('mul', [rmsNormalized(n, x, axis, epsilon), castTo(n.b, gamma, typeOf(x).dtype)]);
}

// LayerNormalization of input + skip (+ bias) over the last axis; output 3 is the sum itself.
defineOnnxOp(ms('SkipLayerNormalization'), (n) => {
  noStatistics(n);
  const sum = skipSum(n, 4);
  const dtype = typeOf(sum).dtype;
  const beta = n.optional(3);
  const params = [castTo(n.b, n.input(2), dtype), ...(beta ? [castTo(n.b, beta, dtype)] : [])];
  const y = n.b.op('layer_norm', [sum, ...params], { axis: -1, epsilon: n.attrs.float('epsilon', 1e-12) });
  return [y, undefined, undefined, sum];
});

// RMS normalisation of input + skip (+ bias); output 3 is the sum.
defineOnnxOp(ms('SkipSimplifiedLayerNormalization'), (n) => {
  noStatistics(n);
  const sum = skipSum(n, 3);
  return [rmsNorm(n, sum, n.input(2), n.attrs.float('epsilon', 1e-12)), undefined, undefined, sum];
});

// ORT registers SimplifiedLayerNormalization (RMS normalisation) in the default domain, as it
// does LayerNormalization before opset 17; exporters of LLaMA-style models write it.
defineOnnxOp('SimplifiedLayerNormalization', (n) => {
  if (n.outputUsed(1)) n.unsupported('its output 1 (inv_std_var, a training statistic) is not supported');
  if (n.attrs.int('stash_type', 1) !== 1) n.unsupported(`stash_type ${n.attrs.int('stash_type', 1)} is not supported (float is)`);
  const x = n.input(0);
  const xs = castTo(n.b, x, 'f32');
  return castTo(n.b, rmsNorm(n, xs, n.input(1), n.attrs.float('epsilon', 1e-5), n.attrs.int('axis', -1)), typeOf(x).dtype);
});

// BERT's embedding layer: LayerNormalization of word[input_ids] + position[position_ids, or
// 0..S-1] (+ segment[segment_ids]). Output 1 is each row's count of mask ones (its length
// under right padding), output 2 the sum before normalisation.
defineOnnxOp(ms('EmbedLayerNormalization'), (n) => {
  const ids = castTo(n.b, n.input(0), 'i32');
  const [batch, s] = typeOf(ids).shape as [number, number];
  const lookup = (table: Operand, at: Operand) => n.b.op('gather', [table, castTo(n.b, at, 'i32')], { axis: 0 });
  const words = n.input(2);
  const positionIds = n.optional(8) ?? n.b.tensor('i32', [1, s], Array.from({ length: s }, (_, i) => i));
  let sum = n.b.op('add', [lookup(words, ids), lookup(castTo(n.b, n.input(3), typeOf(words).dtype), positionIds)]);
  const segments = n.optional(1);
  if (segments) sum = n.b.op('add', [sum, lookup(castTo(n.b, n.input(4), typeOf(words).dtype), segments)]);
  const dtype = typeOf(sum).dtype;
  const y = n.b.op('layer_norm', [sum, castTo(n.b, n.input(5), dtype), castTo(n.b, n.input(6), dtype)], { axis: -1, epsilon: n.attrs.float('epsilon', 1e-12) });
  const mask = n.optional(7);
  const maskIndex = !n.outputUsed(1) ? undefined
    : mask ? n.b.op('sum', [castTo(n.b, mask, 'i32')], { axes: [1], keepdims: false })
      : n.b.scalar('i32', 0, [batch]);
  return [y, maskIndex, sum];
});

// Ops ORT also registers under com.microsoft as a fixed version of an ONNX op: mapped as that
// version of the ONNX op, whatever the model's default opset.
for (const [op, opset] of [['Pad', 11], ['Range', 11], ['Trilu', 14], ['GridSample', 16], ['GatherND', 11], ['QuantizeLinear', 21], ['DequantizeLinear', 21]] as const) {
  defineOnnxOp(ms(op), (n) => onnxMapper(op)!(n.atOpset(opset)));
}

// ExpandDims: X with an axis of extent 1 inserted at `axis` (an int32 input).
defineOnnxOp(ms('ExpandDims'), (n) => n.b.op('unsqueeze', [n.input(0)], { axes: n.values(1, 'axis') }));

// CDist: the distance of every row of A [M, K] to every row of B [N, K], squared Euclidean or
// Euclidean, by ||a||^2 + ||b||^2 - 2 a.b (clamped at 0 before a square root).
defineOnnxOp(ms('CDist'), (n) => {
  const [a, b] = [n.input(0), n.input(1)];
  const metric = n.attrs.string('metric', 'sqeuclidean');
  if (metric !== 'sqeuclidean' && metric !== 'euclidean') n.unsupported(`metric '${metric}' is not supported (sqeuclidean and euclidean are)`);
  const norms = (x: Operand) => n.b.op('sum', [n.b.op('mul', [x, x])], { axes: [1], keepdims: true });
  const dot = n.b.op('matmul', [a, n.b.op('transpose', [b], { perm: [1, 0] })]);
  const sum = n.b.op('add', [norms(a), n.b.op('transpose', [norms(b)], { perm: [1, 0] })]);
  const sq = n.b.op('maximum', [n.b.op('sub', [sum, n.b.op('mul', [dot, scalarLike(n.b, dot, 2)])]), scalarLike(n.b, dot, 0)]);
  return metric === 'euclidean' ? n.b.op('sqrt', [sq]) : sq;
});
