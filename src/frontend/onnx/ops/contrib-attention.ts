// ONNX Runtime's attention ops (com.microsoft): RotaryEmbedding, MultiHeadAttention and Attention, as its
// transformer optimizer and model builders write them, decomposed into kiln ops with the
// helpers of ONNX's own Attention. Masks are ORT's: a masked score gets mask_filter_value
// (-10000 by default) added, not -inf, so a row whose every key is masked is softmaxed as if none were.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { causalKeep, iota, mergeHeads, splitHeads } from './attention.js';
import { ms } from './contrib.js';
import { isSymbolic } from '../../../ir/size-expr.js';
import { dimsOf } from '../../../ir/types.js';
import { castTo, reshapeTo, scalarLike } from './helpers.js';
import { rotaryEmbedding } from './transformer.js';

// ORT's RotaryEmbedding: the input [B, S, hidden] or [B, N, S, H]; position_ids [B, S], or [1]
// holding the first position (positions start, start + 1, ...); caches [max_position, rot / 2].
defineOnnxOp(ms('RotaryEmbedding'), (n) => {
  if (n.attrs.int('is_packed_batching', 0) !== 0) n.unsupported('is_packed_batching=1 (ragged batches) is not supported');
  if (n.attrs.float('scale', 1) !== 1) n.unsupported(`scale ${n.attrs.float('scale', 1)} is not supported (1 is)`);
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const cos = n.input(2);
  const rotaryDim = n.attrs.int('rotary_embedding_dim', 0);
  let heads = n.attrs.int('num_heads', 0);
  if (shape.length === 3 && heads === 0) {
    if (rotaryDim !== 0) n.fail('rotary_embedding_dim needs num_heads for a 3-D input');
    heads = shape[2]! / (2 * typeOf(cos).shape[1]!);
  }
  const seq = shape.length === 4 ? shape[2]! : shape[1]!;
  const ids = castTo(n.b, n.input(1), 'i32');
  const idShape = typeOf(ids).shape;
  const positions = idShape.length === 1 && idShape[0] === 1
    ? n.b.op('add', [reshapeTo(n.b, ids, [1, 1]), iota(n, [1, seq])])
    : ids;
  return rotaryEmbedding(n, x, cos, n.input(3), positions, { heads, rotaryDim, interleaved: n.attrs.int('interleaved', 0) !== 0 });
});

/** x[start:end] along `axis` (a part of packed Q/K/V, or of their joint bias). */
function part(n: OnnxNode, x: Operand, axis: number, start: number, end: number): Operand {
  return n.b.op('slice', [x], { starts: [start], ends: [end], axes: [axis] });
}

/** Packed [B, L, N, P, H] as its P tensors [B, L, N * H]. */
function unpack(n: OnnxNode, packed: Operand, count: number): Operand[] {
  const [b, l, heads, p, h] = typeOf(packed).shape as [number, number, number, number, number];
  if (p !== count) n.fail(`a packed input must have ${count} at axis 3, got ${p}`);
  return Array.from({ length: count }, (_, i) => reshapeTo(n.b, part(n, packed, 3, i, i + 1), [b, l, heads * h]));
}

/**
 * Which keys each query sees, as a bool broadcastable to [B, 1, S, T], or undefined when all
 * are: a mask as lengths [B] (right padding), ends then starts [2B] (left padding), a 0/1 mask
 * [B, T] or [B, S, T]; and causality.
 */
function visible(n: OnnxNode, mask: Operand | undefined, qh: Operand, kh: Operand, pastKey: Operand | undefined, causal: boolean): Operand | undefined {
  const [batch, , s] = typeOf(qh).shape as [number, number, number];
  const t = typeOf(kh).shape[2]!;
  let keep: Operand | undefined;
  if (mask) {
    if ([qh, kh].some((x) => isSymbolic(dimsOf(typeOf(x))[2]!))) n.unsupported('a key padding mask over lengths that vary is not supported');
    const m = castTo(n.b, mask, 'i32');
    const shape = typeOf(m).shape;
    const zero = scalarLike(n.b, m, 0);
    const keys = iota(n, [1, 1, 1, t]);
    const perEntry = (from: number) => reshapeTo(n.b, part(n, m, 0, from, from + batch), [batch, 1, 1, 1]);
    if (shape.length === 1 && shape[0] === batch) keep = n.b.op('less', [keys, reshapeTo(n.b, m, [batch, 1, 1, 1])]);
    else if (shape.length === 1 && shape[0] === 2 * batch) keep = n.b.op('logical_and', [n.b.op('less', [keys, perEntry(0)]), n.b.op('greater_equal', [keys, perEntry(batch)])]);
    else if (shape.length === 2 && shape[1] === t) keep = reshapeTo(n.b, n.b.op('not_equal', [m, zero]), [shape[0]!, 1, 1, t]);
    else if (shape.length === 3 && shape[1] === s && shape[2] === t) keep = n.b.op('unsqueeze', [n.b.op('not_equal', [m, zero])], { axes: [1] });
    else n.unsupported(`a mask of shape [${shape.join(',')}] is not supported ([B], [2B], [B, T] and [B, S, T] are, T = ${t} keys)`);
  }
  const grid = causal ? causalKeep(n, qh, kh, pastKey) : undefined;
  if (grid) keep = keep ? n.b.op('logical_and', [keep, grid]) : grid;
  return keep;
}

/**
 * softmax(Q K^T * scale + mask + attention bias) V over Q [B, N, S, H] and K, V [B, N, T, H]
 * whose first rows are the cache `pastKey` (when given), merged to [B, S, N * Hv]: the core of ORT's
 * MultiHeadAttention and Attention, whose mask (input `maskInput`) and attention bias
 * (input `biasInput`) sit at different positions.
 */
function attend(n: OnnxNode, qh: Operand, kh: Operand, vh: Operand, pastKey: Operand | undefined, maskInput: number, biasInput: number): Operand {
  const headSize = typeOf(qh).shape[3]!;
  const scale = n.attrs.float('scale', 1 / Math.sqrt(headSize));
  const kT = n.b.op('transpose', [kh], { perm: [0, 1, 3, 2] });
  let scores = n.b.op('mul', [n.b.op('matmul', [qh, kT]), scalarLike(n.b, qh, scale)]);
  const keep = visible(n, n.optional(maskInput), qh, kh, pastKey, n.attrs.int('unidirectional', 0) !== 0);
  if (keep) {
    const filter = scalarLike(n.b, scores, n.attrs.float('mask_filter_value', -10000));
    scores = n.b.op('add', [scores, n.b.op('where', [keep, scalarLike(n.b, scores, 0), filter])]);
  }
  const attentionBias = n.optional(biasInput);
  if (attentionBias) scores = n.b.op('add', [scores, castTo(n.b, attentionBias, typeOf(scores).dtype)]);
  const probs = n.b.op('softmax', [scores], { axis: -1 });
  return mergeHeads(n, n.b.op('matmul', [probs, vh]));
}

// ORT's MultiHeadAttention: Q [B, S, D] (or packed QKV [B, S, N, 3, H]), K and V [B, L, D]
// (or packed KV [B, L, N, 2, H], or already per head [B, N, L, H]), the projection's bias, a
// key padding mask, an attention bias, and a past key and value [B, N, P, H] prepended to K and V.
defineOnnxOp(ms('MultiHeadAttention'), (n) => {
  if (n.optional(8) || n.optional(9)) n.unsupported('past_sequence_length (a shared KV buffer) and cache_indirection (beam search) are not supported');
  if (n.outputUsed(3)) n.unsupported('its qk output is not supported');
  const heads = n.attrs.int('num_heads', 0);
  let q = n.input(0);
  let k: Operand;
  let v: Operand;
  if (typeOf(q).shape.length === 5) [q, k, v] = unpack(n, q, 3) as [Operand, Operand, Operand];
  else if (typeOf(n.input(1)).shape.length === 5) [k, v] = unpack(n, n.input(1), 2) as [Operand, Operand];
  else [k, v] = [n.input(1), n.input(2)];
  const perHead = typeOf(k).shape.length === 4;
  const bias = n.optional(3);
  if (bias) {
    if (perHead) n.unsupported('a bias with key and value given per head ([B, N, L, H]) is not supported');
    const [dq, dk, dv] = [q, k, v].map((x) => typeOf(x).shape[2]!) as [number, number, number];
    if (typeOf(bias).shape[0] !== dq + dk + dv) n.fail(`bias must have ${dq + dk + dv} elements (Q, K and V's hidden sizes), got ${typeOf(bias).shape[0]}`);
    const add = (x: Operand, from: number, to: number) => n.b.op('add', [x, castTo(n.b, part(n, bias, 0, from, to), typeOf(x).dtype)]);
    [q, k, v] = [add(q, 0, dq), add(k, dq, dq + dk), add(v, dq + dk, dq + dk + dv)];
  }
  const qh = splitHeads(n, q, heads, 'Q');
  let kh = perHead ? k : splitHeads(n, k, heads, 'K');
  let vh = perHead ? v : splitHeads(n, v, heads, 'V');
  const [pastKey, pastValue] = [n.optional(6), n.optional(7)];
  if (!pastKey !== !pastValue) n.fail('past_key and past_value must be given together');
  if (pastKey && pastValue) {
    kh = n.b.op('concat', [pastKey, kh], { axis: 2 });
    vh = n.b.op('concat', [pastValue, vh], { axis: 2 });
  }
  return [attend(n, qh, kh, vh, pastKey, 4, 5), kh, vh];
});

// ORT's Attention (BERT and GPT-2 exports through its transformer optimizer): the Q, K and V
// projections as one weight [D_in, Dq + Dk + Dv] and bias, a mask_index, a past [2, B, N, P, H]
// and a present of the same layout.
defineOnnxOp(ms('Attention'), (n) => {
  if (n.attrs.int('do_rotary', 0) !== 0) n.unsupported('do_rotary=1 is not supported');
  if (n.attrs.int('past_present_share_buffer', 0) !== 0 || n.optional(6)) n.unsupported('past_present_share_buffer (a shared KV buffer) is not supported');
  const heads = n.attrs.int('num_heads', 0);
  const w = n.input(1);
  const width = typeOf(w).shape[1]!;
  const sizes = n.attrs.ints('qkv_hidden_sizes', [width / 3, width / 3, width / 3]);
  if (sizes.length !== 3 || sizes[0]! + sizes[1]! + sizes[2]! !== width) n.fail(`qkv_hidden_sizes [${sizes.join(',')}] must be three sizes adding up to the weight's ${width} columns`);
  let qkv = n.b.op('matmul', [n.input(0), castTo(n.b, w, typeOf(n.input(0)).dtype)]);
  const bias = n.optional(2);
  if (bias) qkv = n.b.op('add', [qkv, castTo(n.b, bias, typeOf(qkv).dtype)]);
  const [dq, dk] = [sizes[0]!, sizes[1]!];
  const qh = splitHeads(n, part(n, qkv, 2, 0, dq), heads, 'Q');
  let kh = splitHeads(n, part(n, qkv, 2, dq, dq + dk), heads, 'K');
  let vh = splitHeads(n, part(n, qkv, 2, dq + dk, width), heads, 'V');
  const past = n.optional(4);
  const [pk, pv] = past ? [0, 1].map((i) => n.b.op('squeeze', [part(n, past, 0, i, i + 1)], { axes: [0] })) as [Operand, Operand] : [undefined, undefined];
  if (pk && pv) {
    kh = n.b.op('concat', [pk, kh], { axis: 2 });
    vh = n.b.op('concat', [pv, vh], { axis: 2 });
  }
  const y = attend(n, qh, kh, vh, pk, 3, 5);
  const unsqueezed = (x: Operand) => n.b.op('unsqueeze', [x], { axes: [0] });
  return [y, n.outputUsed(1) ? n.b.op('concat', [unsqueezed(kh), unsqueezed(vh)], { axis: 0 }) : undefined];
});
