// A GPT-style character language model: learned token and position embeddings, pre-norm
// transformer blocks (causal multi-head self-attention and a GELU MLP, each with a residual
// connection), a final layer norm and a linear head over the characters.
import { arange, functional as F, nn, type Tensor } from '../../src/index.js';

export interface CharLmConfig {
  /** Distinct characters. */
  readonly vocab: number;
  /** Characters of context. */
  readonly context: number;
  readonly layers: number;
  readonly heads: number;
  /** Width of the embeddings and the residual stream. */
  readonly dim: number;
}

/** Causal multi-head self-attention: query i sees positions 0..i of its own sequence. */
export class CausalSelfAttention extends nn.Module {
  readonly qkv: nn.Linear;
  readonly proj: nn.Linear;

  constructor(readonly dim: number, readonly heads: number) {
    super();
    if (dim % heads !== 0) throw new Error(`dim ${dim} does not split into ${heads} heads`);
    this.qkv = new nn.Linear(dim, 3 * dim);
    this.proj = new nn.Linear(dim, dim);
  }

  forward(x: Tensor): Tensor {
    const [b, t] = x.shape as [number, number, number];
    // [B, T, D] -> [B, heads, T, D / heads]
    const split = (y: Tensor) => y.reshape(b, t, this.heads, this.dim / this.heads).permute(0, 2, 1, 3);
    const [q, k, v] = this.qkv.call(x).split(this.dim, -1).map(split) as [Tensor, Tensor, Tensor];
    const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    return this.proj.call(out.permute(0, 2, 1, 3).reshape(b, t, this.dim));
  }
}

/** x + attn(ln1(x)), then x + mlp(ln2(x)), as in GPT-2. */
export class Block extends nn.Module {
  readonly ln1: nn.LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: nn.LayerNorm;
  readonly mlp: nn.Sequential;

  constructor(dim: number, heads: number) {
    super();
    this.ln1 = new nn.LayerNorm(dim);
    this.attn = new CausalSelfAttention(dim, heads);
    this.ln2 = new nn.LayerNorm(dim);
    this.mlp = new nn.Sequential(new nn.Linear(dim, 4 * dim), new nn.GELU(), new nn.Linear(4 * dim, dim));
  }

  forward(x: Tensor): Tensor {
    const h = x.add(this.attn.call(this.ln1.call(x)));
    return h.add(this.mlp.call(this.ln2.call(h)));
  }
}

/** Character indices [B, T] (int32, T <= context) to next-character logits [B, T, vocab]. */
export class CharLm extends nn.Module {
  readonly tokens: nn.Embedding;
  readonly positions: nn.Embedding;
  readonly blocks: nn.ModuleList;
  readonly lnF: nn.LayerNorm;
  readonly head: nn.Linear;

  constructor(readonly config: CharLmConfig) {
    super();
    this.tokens = new nn.Embedding(config.vocab, config.dim);
    this.positions = new nn.Embedding(config.context, config.dim);
    this.blocks = new nn.ModuleList(Array.from({ length: config.layers }, () => new Block(config.dim, config.heads)));
    this.lnF = new nn.LayerNorm(config.dim);
    this.head = new nn.Linear(config.dim, config.vocab);
  }

  forward(idx: Tensor): Tensor {
    const t = idx.shape[1]!;
    if (t > this.config.context) throw new Error(`a sequence of ${t} characters is longer than the context (${this.config.context})`);
    let x = this.tokens.call(idx).add(this.positions.call(arange(t, undefined, 1, { device: idx.device })));
    for (const block of this.blocks) x = block.call(x);
    return this.head.call(this.lnF.call(x));
  }
}
