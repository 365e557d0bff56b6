import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { zeros, type Tensor } from '../tensor.js';
import { triangle } from '../tensor-mask.js';
import { hostTensorData } from '../host-values.js';
import { Linear } from './linear.js';
import { xavierUniform } from './init.js';

// PyTorch's nn.MultiheadAttention: its parameter names (a PyTorch state dict loads as is),
// layouts (sequence first unless batchFirst), mask conventions (a bool mask is true where
// attention is NOT allowed, unlike scaled_dot_product_attention's) and returns, written with
// ops that have gradient rules.

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights, in training (default 0). */
  readonly dropout?: number;
  readonly bias?: boolean;
  /** Features of the keys and values when they differ from embedDim (separate q, k, v projections). */
  readonly kdim?: number;
  readonly vdim?: number;
  /** Inputs and output as [batch, sequence, feature] instead of [sequence, batch, feature]. */
  readonly batchFirst?: boolean;
}

export interface AttentionCallOptions {
  /** [batch, source]: true (or -inf added) where a key is padding, to be ignored. */
  readonly keyPaddingMask?: Tensor;
  /** Return the attention weights too (default true, as PyTorch). */
  readonly needWeights?: boolean;
  /** [target, source] or [batch * heads, target, source]: bool true where NOT allowed, or float added to the scores. */
  readonly attnMask?: Tensor;
  /** Average the weights over heads (default true): [batch, target, source]; else [batch, heads, target, source]. */
  readonly averageAttnWeights?: boolean;
  /** Each query attends to itself and earlier keys only (the causal mask, where attnMask is not given). */
  readonly isCausal?: boolean;
}

/** Multi-head attention, as torch.nn.MultiheadAttention: returns [output, weights or undefined]. */
export class MultiheadAttention extends Module<[Tensor, Tensor | undefined]> {
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly inProjWeight: Tensor | undefined;
  readonly qProjWeight: Tensor | undefined;
  readonly kProjWeight: Tensor | undefined;
  readonly vProjWeight: Tensor | undefined;
  readonly inProjBias: Tensor | undefined;
  readonly outProj: Linear;

  constructor(readonly embedDim: number, readonly numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    if (embedDim % numHeads !== 0) throw new KilnError(`MultiheadAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    this.headDim = embedDim / numHeads;
    this.dropout = opts.dropout ?? 0;
    this.batchFirst = opts.batchFirst ?? false;
    const [kdim, vdim] = [opts.kdim ?? embedDim, opts.vdim ?? embedDim];
    if (kdim === embedDim && vdim === embedDim) {
      this.inProjWeight = this.registerParameter('in_proj_weight', xavierUniform([3 * embedDim, embedDim]));
    } else {
      this.qProjWeight = this.registerParameter('q_proj_weight', xavierUniform([embedDim, embedDim]));
      this.kProjWeight = this.registerParameter('k_proj_weight', xavierUniform([embedDim, kdim]));
      this.vProjWeight = this.registerParameter('v_proj_weight', xavierUniform([embedDim, vdim]));
    }
    this.inProjBias = opts.bias === false ? undefined : this.registerParameter('in_proj_bias', zeros([3 * embedDim]));
    // Registered by PyTorch's names, so that its state dicts load.
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias: opts.bias !== false }));
    // PyTorch zeroes the projections' biases.
    this.outProj.bias?.setData(zeros([embedDim]));
  }

  /**
   * query [L, N, E] (batchFirst [N, L, E], or unbatched [L, E]), key [S, N, kdim] and value
   * [S, N, vdim] alike. Returns the output shaped as the query, and the attention weights.
   */
  forward(query: Tensor, key: Tensor, value: Tensor, opts: AttentionCallOptions = {}): [Tensor, Tensor | undefined] {
    const unbatched = query.shape.length === 2;
    const batchFirst = (t: Tensor) => (unbatched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
    const [q, k, v] = [batchFirst(query), batchFirst(key), batchFirst(value)];
    const [n, l] = q.shape as [number, number];
    const s = k.shape[1]!;
    if (q.shape.length !== 3 || q.shape[2] !== this.embedDim || k.shape[0] !== n || v.shape[0] !== n || v.shape[1] !== s) {
      throw new KilnError(`MultiheadAttention(${this.embedDim}, ${this.numHeads}): query [${query.shape.join(',')}], key [${key.shape.join(',')}] and value [${value.shape.join(',')}] do not agree (${this.batchFirst ? 'batch first' : 'sequence first'}, embedDim ${this.embedDim})`);
    }
    const e = this.embedDim;
    const bias = (i: number) => this.inProjBias?.narrow(0, i * e, e);
    const weight = (i: number) => this.inProjWeight?.narrow(0, i * e, e) ?? [this.qProjWeight, this.kProjWeight, this.vProjWeight][i]!;
    // [N, T, E] to [N, heads, T, headDim].
    const heads = (t: Tensor, len: number) => t.reshape([n, len, this.numHeads, this.headDim]).transpose(1, 2);
    const qh = heads(F.linear(q, weight(0), bias(0)), l);
    const kh = heads(F.linear(k, weight(1), bias(1)), s);
    const vh = heads(F.linear(v, weight(2), bias(2)), s);
    let scores = qh.matmul(kh.transpose(-2, -1)).mul(1 / Math.sqrt(this.headDim));
    scores = this.masked(scores, opts, n, l, s);
    let weights = scores.softmax(-1);
    if (this.dropout > 0 && this.training) weights = F.dropout(weights, { p: this.dropout, training: true });
    const out = this.outProj.call(weights.matmul(vh).transpose(1, 2).reshape([n, l, e]));
    const output = unbatched ? out.reshape([l, e]) : this.batchFirst ? out : out.transpose(0, 1);
    if (opts.needWeights === false) return [output, undefined];
    const w = opts.averageAttnWeights === false ? weights : weights.mean(1);
    return [output, unbatched ? w.reshape(w.shape.slice(1)) : w];
  }

  /** The scores [N, heads, L, S] with the masks applied: bool true becomes -inf, floats are added. */
  private masked(scores: Tensor, opts: AttentionCallOptions, n: number, l: number, s: number): Tensor {
    const apply = (t: Tensor, m: Tensor) => (m.dtype === 'bool' ? t.maskedFill(m, -Infinity) : t.add(m));
    let out = scores;
    const am = opts.attnMask;
    if (am) {
      const ok = (am.shape.length === 2 && am.shape[0] === l && am.shape[1] === s) || (am.shape.length === 3 && am.shape[0] === n * this.numHeads && am.shape[1] === l && am.shape[2] === s);
      if (!ok) throw new KilnError(`MultiheadAttention: attnMask must be [${l},${s}] or [${n * this.numHeads},${l},${s}], got [${am.shape.join(',')}]`);
      out = apply(out, am.shape.length === 3 ? am.reshape([n, this.numHeads, l, s]) : am);
    } else if (opts.isCausal) {
      out = out.maskedFill(out.constantLike(hostTensorData('bool', [l, s], triangle(l, s, 1, true).map(Number))), -Infinity);
    }
    const kp = opts.keyPaddingMask;
    if (kp) {
      const shape = kp.shape.length === 1 ? [s] : [n, s];
      if (kp.shape.length !== shape.length || kp.shape.some((d, i) => d !== shape[i])) throw new KilnError(`MultiheadAttention: keyPaddingMask must be [${shape.join(',')}], got [${kp.shape.join(',')}]`);
      out = apply(out, kp.reshape([kp.shape.length === 1 ? 1 : n, 1, 1, s]));
    }
    return out;
  }
}
