import { KilnError } from '../../ir/errors.js';
import { formatShapeType, isFloat } from '../../ir/types.js';
import { hostTensorData } from './host-values.js';
import { triangle } from './tensor-mask.js';
import { where, type Tensor } from './tensor.js';

// Attention as PyTorch's `F.scaled_dot_product_attention`, written with ops that have gradient
// rules (matmul, where, softmax), so it runs eagerly, traces and trains in compiled steps.

export interface ScaledDotProductAttentionOptions {
  /**
   * Which keys each query may attend to: bool [L, S] (or broadcasting to the scores [..., L, S]),
   * true where allowed; or float, added to the scores.
   */
  readonly attnMask?: Tensor;
  /** Query i attends to keys j <= i only (the top-left triangle, as PyTorch's is_causal). */
  readonly isCausal?: boolean;
  /** The factor of the scores (default 1 / sqrt(E), E the queries' last extent). */
  readonly scale?: number;
}

/**
 * softmax(q k^T * scale + mask) v for queries [..., L, E], keys [..., S, E] and values
 * [..., S, Ev]. Masked scores become -inf, so they get zero weight; a query that may see no key
 * at all gets NaN, as in PyTorch.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor {
  for (const [name, t] of [['query', q], ['key', k], ['value', v]] as const) {
    if (t.shape.length < 2 || !isFloat(t.dtype)) throw new KilnError(`scaledDotProductAttention: ${name} must be float with at least 2 dimensions, got ${formatShapeType(t.dtype, t.shape)}`);
  }
  if (opts.isCausal && opts.attnMask) throw new KilnError('scaledDotProductAttention: give attnMask or isCausal, not both');
  const [l, e] = q.shape.slice(-2) as [number, number];
  const s = k.shape.at(-2)!;
  let scores = q.matmul(k.transpose(-2, -1)).mul(opts.scale ?? 1 / Math.sqrt(e));
  if (opts.isCausal) {
    const hidden = scores.constantLike(hostTensorData('bool', [l, s], triangle(l, s, 1, true).map(Number)));
    scores = scores.maskedFill(hidden, -Infinity);
  } else if (opts.attnMask) {
    const m = opts.attnMask;
    scores = m.dtype === 'bool' ? where(m, scores, -Infinity) : scores.add(m);
  }
  return scores.softmax(-1).matmul(v);
}
