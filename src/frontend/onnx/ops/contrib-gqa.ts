// ONNX Runtime's GroupQueryAttention (com.microsoft), the attention of LLM exports (ONNX Runtime
// GenAI's builder, Hugging Face's LLaMA/Mistral/Phi/Qwen ONNX models): causal attention whose
// Nkv key/value heads each serve Nq / Nkv query heads, with a KV cache whose valid length
// differs per batch entry. seqlens_k (total length - 1 per entry) is read at run time:
//   past_b = max(seqlens_k[b] + 1 - S, 0)  (0 for a first prompt, padded or not)
//   query s of entry b sits at position past_b + s and sees keys j <= past_b + s below the
//   entry's total length seqlens_k[b] + 1 (and, with a local window W, j > past_b + s - W);
//   present rows [past_b, past_b + S) are the new keys, the rows below past_b the past ones,
//   the rest zero (ORT copies only each entry's valid past).
// The present length is ORT's max(total_sequence_length, past length), read at import (models
// compute it from the attention mask's shape). The sequence, past and total lengths may vary
// from run to run (one program over ranges): positions then come from the tensors themselves
// (see presentLength and positionsAlong).
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { applySoftcap, countAlong, groupedMatmul, iota, mergeHeads, onesLike, positionsAlong, splitHeads } from './attention.js';
import { ms } from './contrib.js';
import { castTo, reshapeTo, reshapeToDims, scalarLike } from './helpers.js';
import { dAdd, dimsEqual, isSymbolic, type Dim } from '../../../ir/size-expr.js';
import { dimsOf } from '../../../ir/types.js';
import { constValues } from '../tensor.js';
import { rotaryEmbedding } from './transformer.js';

/** Refuses the GQA features kiln does not import, naming each. */
function refuseUnsupported(n: OnnxNode): void {
  for (const [i, what] of [[9, 'position_ids'], [12, 'k_scale (a quantized KV cache)'], [14, 'q_norm_weight']] as const) {
    if (n.optional(i)) n.unsupported(`its ${what} input is not supported`);
  }
  if (n.attrs.int('sliding_window_cache', 0) !== 0) n.unsupported('sliding_window_cache=1 is not supported');
  if (n.attrs.int('qk_output', 0) !== 0 || n.outputUsed(3)) n.unsupported('its output_qk is not supported');
  for (const a of ['k_quant_type', 'v_quant_type']) if (n.attrs.string(a, 'NONE') !== 'NONE') n.unsupported(`${a} ${n.attrs.string(a, 'NONE')} (a quantized KV cache) is not supported`);
}

/**
 * The present cache [B, Nkv, T, H]: row j of entry b is past[j] below past_b, new[j - past_b]
 * from past_b to past_b + S, and zero after.
 */
function present(n: OnnxNode, past: Operand | undefined, fresh: Operand, pastLen: Operand, newRows: Operand, length: Dim): Operand {
  const [batch, heads, s, h] = typeOf(fresh).shape as [number, number, number, number];
  // Without a past, every entry's new rows start at row 0 (past_b is 0).
  if (!past && dimsEqual(length, dimsOf(typeOf(fresh))[2]!)) return fresh;
  if (isSymbolic(length)) return presentOverRange(n, past!, fresh, pastLen, newRows);
  const p = past ? typeOf(past).shape[2]! : 0;
  if (!past && length === s) return fresh;
  const rows = iota(n, [1, 1, length, 1]);
  const start = reshapeTo(n.b, pastLen, [batch, 1, 1, 1]);
  const offset = n.b.op('sub', [rows, start]);
  const isNew = n.b.op('logical_and', [n.b.op('greater_equal', [offset, scalarLike(n.b, offset, 0)]), n.b.op('less', [offset, scalarLike(n.b, offset, s)])]);
  const fromPast = n.b.op('minimum', [rows, scalarLike(n.b, rows, Math.max(p - 1, 0))]);
  const index = n.b.op('where', [isNew, n.b.op('add', [offset, scalarLike(n.b, offset, p)]), fromPast]);
  const source = past ? n.b.op('concat', [past, fresh], { axis: 2 }) : fresh;
  const gathered = n.b.op('gather_elements', [source, n.b.op('expand', [index], { shape: [batch, heads, length, h] })], { axis: 2 });
  const known = n.b.op('less', [offset, scalarLike(n.b, offset, s)]);
  return n.b.op('where', [known, gathered, scalarLike(n.b, gathered, 0)]);
}

/**
 * present() for a cache whose length P varies (one program over a range of lengths): past and
 * new concatenated [B, Nkv, P + S, H] and each entry's rows moved as ORT moves them, the new rows
 * from P + S - S to past_b, the rows from past_b + S on zeroed. Without padding (past_b = P)
 * every row stays where it is.
 */
function presentOverRange(n: OnnxNode, past: Operand, fresh: Operand, pastLen: Operand, newRows: Operand): Operand {
  const batch = typeOf(fresh).shape[0]!;
  const source = n.b.op('concat', [past, fresh], { axis: 2 });
  const rows = positionsAlong(n, source, 2);
  const pastRows = n.b.op('add', [n.b.op('max', [positionsAlong(n, past, 2)], { axes: [], keepdims: false }), n.b.scalar('i32', 1)]);
  const start = reshapeTo(n.b, pastLen, [batch, 1, 1, 1]);
  const offset = n.b.op('sub', [rows, start]);
  const isNew = n.b.op('greater_equal', [offset, scalarLike(n.b, offset, 0)]);
  const shifted = n.b.op('add', [rows, n.b.op('sub', [pastRows, start])]);
  const last = n.b.op('sub', [n.b.op('add', [pastRows, newRows]), n.b.scalar('i32', 1)]);
  const index = n.b.op('where', [isNew, n.b.op('minimum', [shifted, last]), rows]);
  const gathered = n.b.op('gather_elements', [source, n.b.op('add', [index, n.b.op('sub', [onesLike(n, source), n.b.scalar('i32', 1)])])], { axis: 2 });
  const known = n.b.op('less', [offset, newRows]);
  return n.b.op('where', [known, gathered, scalarLike(n.b, gathered, 0)]);
}

/**
 * The present cache's length: ORT's max(total_sequence_length, past length). Where the past
 * length varies (one program over a range), the cache grows by the new tokens (total = P + S, as
 * every feeder of a growing cache has it); where the total varies under a fixed past buffer, the
 * buffer is shared and keeps its length.
 */
function presentLength(n: OnnxNode, past: Operand | undefined, s: Dim): Dim {
  const p: Dim = past ? dimsOf(typeOf(past))[2]! : 0;
  const total = constValues(n.constant(6, 'total_sequence_length'))[0]!;
  if (!n.variesWithSizes(6, 'total_sequence_length')) {
    if (isSymbolic(p)) n.unsupported('the past length varies but total_sequence_length does not');
    return Math.max(total, p);
  }
  if (isSymbolic(p) || !past) return dAdd(p, s);
  if (total <= p) return p;
  return n.unsupported('total_sequence_length varies without a past whose length varies with it or a buffer that holds it; give fixed sizes with --input-shape');
}

defineOnnxOp(ms('GroupQueryAttention'), (n) => {
  refuseUnsupported(n);
  const [qHeads, kvHeads] = [n.attrs.int('num_heads', 0), n.attrs.int('kv_num_heads', 0)];
  if (!(qHeads > 0 && kvHeads > 0 && qHeads % kvHeads === 0)) n.fail(`num_heads ${qHeads} must be a positive multiple of kv_num_heads ${kvHeads}`);
  let q = n.input(0);
  const [batch, , width] = typeOf(q).shape as [number, number, number];
  let k: Operand;
  let v: Operand;
  if (n.optional(1)) [k, v] = [n.input(1), n.input(2)];
  else {
    // Packed QKV [B, S, (Nq + 2 Nkv) H].
    const h = width / (qHeads + 2 * kvHeads);
    const cut = (from: number, to: number) => n.b.op('slice', [q], { starts: [from * h], ends: [to * h], axes: [2] });
    [q, k, v] = [cut(0, qHeads), cut(qHeads, qHeads + kvHeads), cut(qHeads + kvHeads, qHeads + 2 * kvHeads)];
  }
  const headSize = typeOf(q).shape[2]! / qHeads;

  const seqDim = dimsOf(typeOf(q))[1]!;
  const newRows = countAlong(n, q, 1);
  const seqlens = castTo(n.b, n.input(5), 'i32');
  const pastLen = n.b.op('maximum', [n.b.op('sub', [n.b.op('add', [seqlens, scalarLike(n.b, seqlens, 1)]), newRows]), scalarLike(n.b, seqlens, 0)]);
  const positions = n.b.op('add', [reshapeTo(n.b, pastLen, [batch, 1]), reshapeToDims(n, positionsAlong(n, q, 1), [1, seqDim])]);
  if (n.attrs.int('do_rotary', 0) !== 0) {
    const rotary = { rotaryDim: 0, interleaved: n.attrs.int('rotary_interleaved', 0) !== 0 };
    q = rotaryEmbedding(n, q, n.input(7), n.input(8), positions, { ...rotary, heads: qHeads });
    k = rotaryEmbedding(n, k, n.input(7), n.input(8), positions, { ...rotary, heads: kvHeads });
  }

  const [pastKey, pastValue] = [n.optional(3), n.optional(4)];
  if (!pastKey !== !pastValue) n.fail('past_key and past_value must be given together');
  const length = presentLength(n, pastKey, seqDim);
  const presentKey = present(n, pastKey, splitHeads(n, k, kvHeads, 'K'), pastLen, newRows, length);
  const presentValue = present(n, pastValue, splitHeads(n, v, kvHeads, 'V'), pastLen, newRows, length);

  const qh = splitHeads(n, q, qHeads, 'Q');
  const scale = n.attrs.float('scale', 0) || 1 / Math.sqrt(headSize);
  let scores = n.b.op('mul', [groupedMatmul(n, qh, n.b.op('transpose', [presentKey], { perm: [0, 1, 3, 2] })), scalarLike(n.b, qh, scale)]);
  // ORT caps the scores before it adds the attention bias.
  scores = applySoftcap(n, scores, n.attrs.float('softcap', 0));
  const bias = n.optional(10);
  if (bias) scores = n.b.op('add', [scores, castTo(n.b, bias, typeOf(scores).dtype)]);

  // Key j is seen by query s of entry b when j <= seqlens_k[b] and (causal) j <= past_b + s.
  const keys = n.b.op('transpose', [positionsAlong(n, presentKey, 2)], { perm: [0, 1, 3, 2] });
  let keep = n.b.op('less_equal', [keys, reshapeTo(n.b, seqlens, [batch, 1, 1, 1])]);
  const at = reshapeToDims(n, positions, [batch, 1, seqDim, 1]);
  if (n.attrs.int('causal', 1) !== 0) keep = n.b.op('logical_and', [keep, n.b.op('less_equal', [keys, at])]);
  const window = n.attrs.int('local_window_size', -1);
  if (window > 0) keep = n.b.op('logical_and', [keep, n.b.op('greater', [keys, n.b.op('sub', [at, scalarLike(n.b, at, window)])])]);
  scores = n.b.op('where', [keep, scores, scalarLike(n.b, scores, -Infinity)]);

  const probs = softmaxWithSink(n, scores, qHeads);
  const y = mergeHeads(n, groupedMatmul(n, probs, presentValue));
  return [y, presentKey, presentValue];
});

/**
 * Softmax over the last axis, with an extra logit in the denominator only: 0 with
 * smooth_softmax, each head's head_sink when given (the attention may then "attend to nothing").
 */
function softmaxWithSink(n: OnnxNode, scores: Operand, heads: number): Operand {
  const sinkInput = n.optional(11);
  const smooth = n.attrs.int('smooth_softmax', 0) !== 0;
  if (!sinkInput && !smooth) return n.b.op('softmax', [scores], { axis: -1 });
  if (dimsOf(typeOf(scores)).some(isSymbolic)) n.unsupported('smooth_softmax and head_sink over lengths that vary are not supported');
  const [b, , s] = typeOf(scores).shape as [number, number, number, number];
  const sink = sinkInput
    ? n.b.op('expand', [reshapeTo(n.b, castTo(n.b, sinkInput, typeOf(scores).dtype), [1, heads, 1, 1])], { shape: [b, heads, s, 1] })
    : n.b.scalar(typeOf(scores).dtype, 0, [b, heads, s, 1]);
  const withSink = n.b.op('softmax', [n.b.op('concat', [scores, sink], { axis: -1 })], { axis: -1 });
  const t = typeOf(scores).shape[3]!;
  return n.b.op('slice', [withSink], { starts: [0], ends: [t], axes: [-1] });
}
