// A pre-norm transformer encoder block (as in GPT-2 and ViT): multi-head self-attention written
// with matmul and softmax, a GELU MLP, layer norms and residual connections.
// `kiln ir dist/examples/transformer/block.js` and `kiln run dist/examples/transformer/block.js` load this file.
import { Dropout, GELU, LayerNorm, Linear, Module, Sequential } from '../../src/frontend/torch/nn.js';
import { manualSeed, randn, type Tensor } from '../../src/frontend/torch/index.js';

/** Multi-head self-attention: one projection to queries, keys and values, softmax(QK^T / sqrt(d)) V. */
export class SelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;

  constructor(readonly dim: number, readonly heads: number) {
    super();
    if (dim % heads !== 0) throw new Error(`dim ${dim} does not split into ${heads} heads`);
    this.headDim = dim / heads;
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim));
    this.proj = this.registerModule('proj', new Linear(dim, dim));
  }

  forward(x: Tensor): Tensor {
    const [b, t] = x.shape as [number, number, number];
    // [B, T, D] -> [B, heads, T, headDim]
    const split = (y: Tensor) => y.reshape(b, t, this.heads, this.headDim).permute(0, 2, 1, 3);
    const [q, k, v] = this.qkv.call(x).split(this.dim, -1).map(split) as [Tensor, Tensor, Tensor];
    const scores = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(this.headDim));
    const out = scores.softmax(-1).matmul(v); // [B, heads, T, headDim]
    return this.proj.call(out.permute(0, 2, 1, 3).reshape(b, t, this.dim));
  }
}

/** x + attn(ln1(x)), then x + mlp(ln2(x)). */
export class EncoderBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: Sequential;

  constructor(dim: number, heads: number, mlpRatio = 4) {
    super();
    this.ln1 = this.registerModule('ln1', new LayerNorm(dim));
    this.attn = this.registerModule('attn', new SelfAttention(dim, heads));
    this.ln2 = this.registerModule('ln2', new LayerNorm(dim));
    this.mlp = this.registerModule('mlp', new Sequential(
      new Linear(dim, mlpRatio * dim), new GELU(), new Linear(mlpRatio * dim, dim), new Dropout(0.1),
    ));
  }

  forward(x: Tensor): Tensor {
    const h = x.add(this.attn.call(this.ln1.call(x)));
    return h.add(this.mlp.call(this.ln2.call(h)));
  }
}

manualSeed(11);
export const model = new EncoderBlock(32, 4);
export const exampleInputs = [randn([2, 7, 32])];
