// ONNX Attention (opsets 23 and 24): scaled dot-product attention decomposed into kiln ops
// (matmul, softmax, where, ...), so it runs on the GPU and fuses like any other graph. The
// helpers are shared with the other attention ops.
import type { DType } from '../../../ir/types.js';
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { castTo, reshapeTo, reshapeToDims, scalarLike } from './helpers.js';
import { dimText, dMul, isSymbolic, type Dim } from '../../../ir/size-expr.js';
import { dimsOf } from '../../../ir/types.js';

// Shapes here are read with dimsOf: a batch or sequence extent may vary from run to run (one
// program over a range of cache lengths), and reshapes keep it varying.

/** [B, S, H * D] as [B, H, S, D]. */
export function splitHeads(n: OnnxNode, x: Operand, heads: number, what: string): Operand {
  const [batch, seq, hidden] = dimsOf(typeOf(x)) as [Dim, Dim, Dim];
  if (!(heads > 0) || typeof hidden !== 'number' || hidden % heads !== 0) n.fail(`${what}'s hidden size ${dimText(hidden)} is not a multiple of its ${heads} heads`);
  return n.b.op('transpose', [reshapeToDims(n, x, [batch, seq, heads, hidden / heads])], { perm: [0, 2, 1, 3] });
}

/** [B, H, S, D] as [B, S, H * D]. */
export function mergeHeads(n: OnnxNode, y: Operand): Operand {
  const [batch, heads, seq, d] = dimsOf(typeOf(y)) as [Dim, number, Dim, number];
  return reshapeToDims(n, n.b.op('transpose', [y], { perm: [0, 2, 1, 3] }), [batch, seq, heads * d]);
}

/**
 * a [B, Hq, S, X] @ b [B, Hkv, X, Y] -> [B, Hq, S, Y], where each of the Hkv heads of b serves
 * a contiguous group of G = Hq / Hkv heads of a (grouped-query attention): a is viewed as
 * [B, Hkv, G * S, X], so b is never copied, and X and Y keep their positions (they may vary).
 */
export function groupedMatmul(n: OnnxNode, a: Operand, b: Operand): Operand {
  const [batch, hq, s, x] = dimsOf(typeOf(a)) as [Dim, number, Dim, Dim];
  const [, hkv, , y] = dimsOf(typeOf(b)) as [Dim, number, Dim, Dim];
  if (hq === hkv) return n.b.op('matmul', [a, b]);
  if (hq % hkv !== 0) n.fail(`${hq} query heads cannot share ${hkv} key/value heads evenly`);
  const grouped = n.b.op('matmul', [reshapeToDims(n, a, [batch, hkv, dMul(hq / hkv, s), x]), b]);
  return reshapeToDims(n, grouped, [batch, hq, s, y]);
}

/** softcap * tanh(x / softcap), bounding scores to (-softcap, softcap); no op for softcap <= 0. */
export function applySoftcap(n: OnnxNode, x: Operand, softcap: number): Operand {
  if (!(softcap > 0)) return x;
  const t = n.b.op('tanh', [n.b.op('div', [x, scalarLike(n.b, x, softcap)])]);
  return n.b.op('mul', [t, scalarLike(n.b, x, softcap)]);
}

/**
 * Softmax along the last axis where a row whose every score is -inf (fully masked) gives
 * zeros, not NaN, as ONNX's attention ops specify.
 */
export function maskedSoftmax(n: OnnxNode, scores: Operand): Operand {
  const p = n.b.op('softmax', [scores], { axis: -1 });
  const rowMax = n.b.op('max', [scores], { axes: [-1], keepdims: true });
  const empty = n.b.op('equal', [rowMax, scalarLike(n.b, scores, -Infinity)]);
  return n.b.op('where', [empty, scalarLike(n.b, p, 0), p]);
}

/** Float types a node's softmax_precision may name, as kiln computes them. */
export const SOFTMAX_PRECISION: Readonly<Record<number, DType>> = { 1: 'f32', 10: 'f16', 11: 'f32' };

/** A bool constant [rows, cols] with `keep(i, j)` at (i, j). */
function boolGrid(n: OnnxNode, rows: number, cols: number, keep: (i: number, j: number) => boolean): Operand {
  return n.b.tensor('bool', [rows, cols], Array.from({ length: rows * cols }, (_, x) => (keep(Math.floor(x / cols), x % cols) ? 1 : 0)));
}

/** The i32 constant [from, from + 1, ...] of `shape` (one axis not 1). */
export function iota(n: OnnxNode, shape: readonly number[], from = 0): Operand {
  return n.b.tensor('i32', shape, Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => from + i));
}

/** The count of positions along an axis varying from run to run, as an i32 scalar computed when it runs. */
export function countAlong(n: OnnxNode, like: Operand, axis: number): Operand {
  const extent = dimsOf(typeOf(like))[axis]!;
  if (!isSymbolic(extent)) return n.b.scalar('i32', extent);
  return n.b.op('add', [n.b.op('max', [positionsAlong(n, like, axis)], { axes: [], keepdims: false }), n.b.scalar('i32', 1)]);
}

/** i32 ones of `x`'s shape, whatever it holds (NaN included), its extents varying as x's do. */
export function onesLike(n: OnnxNode, x: Operand): Operand {
  return n.b.op('maximum', [castTo(n.b, n.b.op('equal', [x, x]), 'i32'), n.b.scalar('i32', 1)]);
}

/**
 * The i32 positions 0, 1, ... along `axis` of `like` (extent 1 on its other axes): a constant
 * where that extent is fixed, else a running sum of ones over a line of `like`, so that its
 * extent varies with `like`'s.
 */
export function positionsAlong(n: OnnxNode, like: Operand, axis: number): Operand {
  const dims = dimsOf(typeOf(like));
  const extent = dims[axis]!;
  if (!isSymbolic(extent)) return iota(n, dims.map((d, i) => (i === axis ? extent : 1)));
  const others = dims.map((_, i) => i).filter((i) => i !== axis);
  const line = n.b.op('slice', [like], { starts: others.map(() => 0), ends: others.map(() => 1), axes: others });
  return n.b.op('cumsum', [onesLike(n, line)], { axis, exclusive: true });
}

/**
 * Which keys each query sees under causality, queries qh [B, N, S, D] over keys kh [B, N, T, D]
 * whose first `past` rows are a cache (query i sees key j <= i + past), as a bool [S, T] or
 * [1, 1, S, T]; undefined where every key is seen (one new token after its cache). A constant
 * where S and T are fixed, else built from the tensors' positions so that it follows their
 * lengths (`pastKey` gives the cache's length when it runs).
 */
export function causalKeep(n: OnnxNode, qh: Operand, kh: Operand, pastKey: Operand | undefined): Operand | undefined {
  const [s, t] = [typeOf(qh).shape[2]!, typeOf(kh).shape[2]!];
  const past = pastKey ? typeOf(pastKey).shape[2]! : 0;
  if (t - 1 <= past) return undefined;
  const [sDim, tDim] = [dimsOf(typeOf(qh))[2]!, dimsOf(typeOf(kh))[2]!];
  if (!isSymbolic(sDim) && !isSymbolic(tDim)) return boolGrid(n, s, t, (i, j) => j <= i + past);
  const keys = n.b.op('transpose', [positionsAlong(n, kh, 2)], { perm: [0, 1, 3, 2] });
  const seen = pastKey ? n.b.op('add', [positionsAlong(n, qh, 2), countAlong(n, pastKey, 2)]) : positionsAlong(n, qh, 2);
  return n.b.op('less_equal', [keys, seen]);
}

/** Combines two optional bool masks. */
function and(n: OnnxNode, a: Operand | undefined, b: Operand): Operand {
  return a ? n.b.op('logical_and', [a, b]) : b;
}

/** attn_mask widened along its last axis to `total` keys: the keys it does not reach are masked out. */
function padMask(n: OnnxNode, mask: Operand, total: number): Operand {
  const shape = typeOf(mask).shape;
  const have = shape[shape.length - 1]!;
  if (have === total) return mask;
  if (have > total) n.fail(`attn_mask covers ${have} keys but there are ${total}`);
  const dtype = typeOf(mask).dtype;
  const fill = n.b.scalar(dtype, dtype === 'bool' ? 0 : -Infinity, [...shape.slice(0, -1), total - have]);
  return n.b.op('concat', [mask, fill], { axis: -1 });
}

/**
 * Which keys each query may see, for causal attention aligned to the bottom right (query i
 * of this block sees key j iff j <= i + offset) and for keys beyond each batch's
 * nonpad_kv_seqlen: a bool mask broadcastable to [B, 1, S, T], or undefined when all are seen.
 */
function visibleKeys(n: OnnxNode, qh: Operand, kh: Operand, pastKey: Operand | undefined, isCausal: boolean, nonpad: Operand | undefined): Operand | undefined {
  const [s, t] = [typeOf(qh).shape[2]!, typeOf(kh).shape[2]!];
  const past = pastKey ? typeOf(pastKey).shape[2]! : 0;
  const causalGrid = () => causalKeep(n, qh, kh, pastKey);
  // Every key is at or before the first query (one new token after its cache): nothing to mask.
  if (isCausal && t - 1 <= past) isCausal = false;
  if (!nonpad) return isCausal ? causalGrid() : undefined;
  if ([qh, kh].some((x) => isSymbolic(dimsOf(typeOf(x))[2]!))) n.unsupported('nonpad_kv_seqlen over lengths that vary is not supported');
  const lengths = reshapeTo(n.b, castTo(n.b, nonpad, 'i32'), [typeOf(nonpad).shape[0]!, 1, 1, 1]);
  const keys = iota(n, [1, 1, 1, t]);
  const inside = n.b.op('less', [keys, lengths]);
  if (!isCausal) return inside;
  if (past > 0) return n.b.op('logical_and', [causalGrid()!, inside]);
  // Without a cache, the block's queries are the last s of each batch's valid keys.
  const lastKeys = n.b.op('add', [iota(n, [1, 1, s, 1], -s), lengths]);
  return n.b.op('logical_and', [n.b.op('less_equal', [keys, lastKeys]), inside]);
}

defineOnnxOp('Attention', (n) => {
  if (n.opset < 24 && n.optional(6)) n.fail('nonpad_kv_seqlen is an input from opset 24');
  let [q, k, v] = [n.input(0), n.input(1), n.input(2)];
  const rank = typeOf(q).shape.length;
  if (rank !== 3 && rank !== 4) n.fail(`Q must be 3-D or 4-D, got rank ${rank}`);
  if (typeOf(k).shape.length !== rank || typeOf(v).shape.length !== rank) n.fail('Q, K and V must have the same rank');
  if (rank === 3) {
    const kvHeads = n.attrs.int('kv_num_heads', 0);
    q = splitHeads(n, q, n.attrs.int('q_num_heads', 0), 'Q');
    k = splitHeads(n, k, kvHeads, 'K');
    v = splitHeads(n, v, kvHeads, 'V');
  }
  const dtype = typeOf(q).dtype;
  const pastKey = n.optional(4);
  const pastValue = n.optional(5);
  if (!pastKey !== !pastValue) n.fail('past_key and past_value must be given together');
  const presentKey = pastKey ? n.b.op('concat', [pastKey, k], { axis: 2 }) : k;
  const presentValue = pastValue ? n.b.op('concat', [pastValue, v], { axis: 2 }) : v;

  const headSize = typeOf(q).shape[3]!;
  const t = typeOf(presentKey).shape[2]!;
  const scale = n.attrs.float('scale', 1 / Math.sqrt(headSize));
  const kT = n.b.op('transpose', [presentKey], { perm: [0, 1, 3, 2] });
  const scores = applySoftcap(n, n.b.op('mul', [groupedMatmul(n, q, kT), scalarLike(n.b, q, scale)]), n.attrs.float('softcap', 0));

  // What each query sees: attn_mask (bool: which keys; float: added to the scores), causality, padding.
  let biased = scores;
  let keep = visibleKeys(n, q, presentKey, pastKey, n.attrs.int('is_causal', 0) !== 0, n.optional(6));
  const mask = n.optional(3);
  if (mask && typeOf(mask).dtype === 'bool') keep = and(n, keep, padMask(n, mask, t));
  else if (mask) biased = n.b.op('add', [scores, castTo(n.b, padMask(n, mask, t), dtype)]);
  if (keep) biased = n.b.op('where', [keep, biased, scalarLike(n.b, biased, -Infinity)]);

  const precision = n.attrs.int('softmax_precision', 0);
  const softDType = precision === 0 ? dtype : SOFTMAX_PRECISION[precision];
  if (!softDType) n.unsupported(`softmax_precision ${precision} is not supported (float, float16 and double are)`);
  const probs = mask || keep ? maskedSoftmax(n, castTo(n.b, biased, softDType)) : n.b.op('softmax', [castTo(n.b, biased, softDType)], { axis: -1 });
  let y = castTo(n.b, groupedMatmul(n, probs, castTo(n.b, presentValue, softDType)), dtype);
  if (rank === 3) y = mergeHeads(n, y);

  // qk_matmul_output, by mode as ONNX's reference computes it: the (soft-capped) scores, the
  // scores with the mask applied, or the softmax.
  let qk: Operand | undefined;
  if (n.outputUsed(3)) {
    const mode = n.attrs.int('qk_matmul_output_mode', 0);
    const choices: readonly Operand[] = [scores, scores, biased, probs];
    if (!choices[mode]) n.unsupported(`qk_matmul_output_mode ${mode} is not supported (0 to 3 are)`);
    qk = castTo(n.b, choices[mode]!, dtype);
  }
  return [y, presentKey, presentValue, qk];
});
