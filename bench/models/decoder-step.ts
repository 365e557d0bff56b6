// GPT-2-small-sized decoding: one new token through 12 pre-norm decoder blocks (d=768, 12 heads,
// MLP 3072) that attend to a 128-token KV cache. Each block projects the token's query, key and
// value, appends the key and value to its layer's cache (the concatenation a decoder keeps for the
// next step) and attends over all 129 positions; the new token is the last, so it sees every key
// and needs no mask. Token embedding and the LM head are left out: the workload is the blocks.
import { GELU, LayerNorm, Linear, Module } from '../../src/frontend/torch/nn.js';
import { cat, manualSeed, randn } from '../../src/frontend/torch/index.js';
import type { Tensor } from '../../src/frontend/torch/tensor.js';
import { Graph } from '../../src/ir/graph.js';
import { trace } from '../../src/frontend/trace/trace.js';

export const DECODER = { layers: 12, dim: 768, heads: 12, mlpRatio: 4, cached: 128 } as const;

/** Names of the step's inputs: the token's hidden state, then each layer's cached keys and values. */
export function decoderInputNames(layers: number = DECODER.layers): string[] {
  return ['x', ...cacheNames('past', layers)];
}

/** Names of each layer's keys and values: `past_k0`, `past_v0`, ... */
export function cacheNames(prefix: 'past' | 'present', layers: number = DECODER.layers): string[] {
  return Array.from({ length: layers }, (_, i) => [`${prefix}_k${i}`, `${prefix}_v${i}`]).flat();
}

class DecoderBlock extends Module<[Tensor, Tensor, Tensor]> {
  readonly ln1: LayerNorm;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly ln2: LayerNorm;
  readonly fc1: Linear;
  readonly act = new GELU();
  readonly fc2: Linear;

  constructor(readonly dim: number, readonly heads: number, mlpRatio: number) {
    super();
    this.ln1 = new LayerNorm(dim);
    this.qkv = new Linear(dim, 3 * dim);
    this.proj = new Linear(dim, dim);
    this.ln2 = new LayerNorm(dim);
    this.fc1 = new Linear(dim, mlpRatio * dim);
    this.fc2 = new Linear(mlpRatio * dim, dim);
  }

  /**
   * x [1, 1, d] and this layer's cache [1, heads, T, d/heads] -> the token's new hidden state, and
   * the cache's keys and values with the token's appended.
   */
  forward(x: Tensor, pastK: Tensor, pastV: Tensor): [Tensor, Tensor, Tensor] {
    const hd = this.dim / this.heads;
    const heads = (y: Tensor) => y.reshape(1, 1, this.heads, hd).permute(0, 2, 1, 3);
    const [q, k, v] = this.qkv.call(this.ln1.call(x)).split(this.dim, -1).map(heads) as [Tensor, Tensor, Tensor];
    const keys = cat([pastK, k], 2);
    const values = cat([pastV, v], 2);
    const att = q.matmul(keys.transpose(-2, -1)).mul(1 / Math.sqrt(hd)).softmax(-1).matmul(values);
    const h = x.add(this.proj.call(att.permute(0, 2, 1, 3).reshape(1, 1, this.dim)));
    return [h.add(this.fc2.call(this.act.call(this.fc1.call(this.ln2.call(h))))), keys, values];
  }
}

class DecoderStep extends Module<Tensor | Tensor[]> {
  readonly blocks: DecoderBlock[];

  constructor(c: DecoderConfig, readonly present: boolean) {
    super();
    this.blocks = Array.from({ length: c.layers }, (_, i) => this.registerModule(`h${i}`, new DecoderBlock(c.dim, c.heads, c.mlpRatio)));
  }

  /** The token's last hidden state; with `present`, then each layer's grown keys and values. */
  forward(x: Tensor, ...cache: Tensor[]): Tensor | Tensor[] {
    const present: Tensor[] = [];
    const h = this.blocks.reduce((y, b, i) => {
      const [out, keys, values] = b.call(y, cache[2 * i]!, cache[2 * i + 1]!);
      present.push(keys, values);
      return out;
    }, x);
    return this.present ? [h, ...present] : h;
  }
}

export type DecoderConfig = { readonly [K in keyof typeof DECODER]: number };

/**
 * The traced decoding step (weights drawn from a fixed seed); with `cacheSize` (e.g.
 * '1<=T<=1024'), one program for every cache length; with `present`, the grown caches are outputs
 * too (`present_k0`, `present_v0`, ... after `y`), for the next step to take as its past.
 */
export function decoderStepGraph(c: DecoderConfig = DECODER, cacheSize?: string, present = false): Graph {
  manualSeed(5);
  const model = new DecoderStep(c, present);
  const hd = c.dim / c.heads;
  const inputs = [randn([1, 1, c.dim]), ...Array.from({ length: 2 * c.layers }, () => randn([1, c.heads, c.cached, hd]))];
  const dynamic = cacheSize ? [undefined, ...inputs.slice(1).map(() => [null, null, cacheSize, null])] : undefined;
  const outputNames = present ? ['y', ...cacheNames('present', c.layers)] : undefined;
  return trace(model, inputs, { name: 'decoder_step', inputNames: decoderInputNames(c.layers), ...(outputNames ? { outputNames } : {}), ...(dynamic ? { dynamic } : {}) });
}

/** Multiply-adds x2 of one step: the projections and MLP of one token, and attention over T+1 keys. */
export function decoderFlops(c: DecoderConfig = DECODER): number {
  const d = c.dim;
  return 2 * c.layers * (d * (4 * d + 2 * c.mlpRatio * d) + 2 * (c.cached + 1) * d);
}
