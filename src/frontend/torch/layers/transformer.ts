import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { tensor, type Tensor } from '../tensor.js';
import { triangle } from '../tensor-mask.js';
import { ModuleList } from './container.js';
import { xavierUniform_ } from '../nn-init.js';
import { Linear } from './linear.js';
import { MultiheadAttention } from './multihead-attention.js';
import { LayerNorm } from './norm.js';

// PyTorch's transformer layers: nn.TransformerEncoderLayer and TransformerDecoderLayer, the
// stacks TransformerEncoder and TransformerDecoder (copies of one layer), and nn.Transformer.
// Their parameter names and registration order are PyTorch's, so its state dicts load; masks
// follow nn.MultiheadAttention's convention (bool true where attention is NOT allowed).

export interface TransformerLayerOptions {
  /** The feed-forward network's width (default 2048). */
  readonly dimFeedforward?: number;
  /** Dropout after each attention, in the feed-forward network and after it, in training (default 0.1). */
  readonly dropout?: number;
  readonly activation?: 'relu' | 'gelu';
  readonly layerNormEps?: number;
  readonly batchFirst?: boolean;
  /** Normalise before each attention and the feed-forward network (pre-norm) instead of after. */
  readonly normFirst?: boolean;
  readonly bias?: boolean;
}

/** The encoder layer's options, as before the decoder shared them. */
export type TransformerEncoderLayerOptions = TransformerLayerOptions;

export interface EncoderCallOptions {
  /** The self-attention's attnMask. */
  readonly mask?: Tensor;
  /** The self-attention's keyPaddingMask. */
  readonly srcKeyPaddingMask?: Tensor;
  readonly isCausal?: boolean;
}

export interface DecoderCallOptions {
  readonly tgtMask?: Tensor;
  readonly memoryMask?: Tensor;
  readonly tgtKeyPaddingMask?: Tensor;
  readonly memoryKeyPaddingMask?: Tensor;
  readonly tgtIsCausal?: boolean;
  readonly memoryIsCausal?: boolean;
}

/** What both layers hold: self-attention (and the decoder's cross-attention), the feed-forward network, the norms. */
abstract class TransformerLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  /** The decoder's attention over the encoder's memory (PyTorch's multihead_attn). */
  readonly multiheadAttn: MultiheadAttention | undefined;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norms: LayerNorm[];
  readonly dropout: number;
  readonly normFirst: boolean;
  readonly activation: 'relu' | 'gelu';

  constructor(what: string, readonly dModel: number, readonly nhead: number, readonly opts: TransformerLayerOptions, crossAttention: boolean) {
    super();
    const ff = opts.dimFeedforward ?? 2048;
    const bias = opts.bias !== false;
    this.dropout = opts.dropout ?? 0.1;
    this.normFirst = opts.normFirst ?? false;
    this.activation = opts.activation ?? 'relu';
    if (this.activation !== 'relu' && this.activation !== 'gelu') throw new KilnError(`${what}: activation should be 'relu' or 'gelu', not '${String(this.activation)}'`);
    const attention = () => new MultiheadAttention(dModel, nhead, { dropout: this.dropout, bias, ...(opts.batchFirst ? { batchFirst: true } : {}) });
    // Registered by PyTorch's names and in its order, so that its state dicts load.
    this.selfAttn = this.registerModule('self_attn', attention());
    this.multiheadAttn = crossAttention ? this.registerModule('multihead_attn', attention()) : undefined;
    this.linear1 = new Linear(dModel, ff, { bias });
    this.linear2 = new Linear(ff, dModel, { bias });
    this.norms = [1, 2, ...(crossAttention ? [3] : [])].map((i) => this.registerModule(`norm${i}`, new LayerNorm(dModel, { eps: opts.layerNormEps ?? 1e-5, bias })));
  }

  get norm1(): LayerNorm { return this.norms[0]!; }
  get norm2(): LayerNorm { return this.norms[1]!; }

  protected drop(t: Tensor): Tensor {
    return this.dropout > 0 && this.training ? F.dropout(t, { p: this.dropout, training: true }) : t;
  }

  protected feedForward(x: Tensor): Tensor {
    const h = this.linear1.call(x);
    return this.drop(this.linear2.call(this.drop(this.activation === 'relu' ? h.relu() : h.gelu())));
  }

  /** `attn` of queries x over keys and values kv, its weights not needed, then dropout. */
  protected attend(attn: MultiheadAttention, x: Tensor, kv: Tensor, mask: Tensor | undefined, keyPadding: Tensor | undefined, isCausal: boolean | undefined): Tensor {
    return this.drop(attn.call(x, kv, kv, {
      needWeights: false,
      ...(mask ? { attnMask: mask } : {}),
      ...(keyPadding ? { keyPaddingMask: keyPadding } : {}),
      ...(isCausal && !mask ? { isCausal: true } : {}),
    })[0]);
  }

  /**
   * Runs the sublayers (each x -> its update) with residuals: pre-norm adds f(norm(x)), post-norm
   * takes norm(x + f(x)); the norms in order.
   */
  protected residuals(x: Tensor, sublayers: readonly ((y: Tensor) => Tensor)[]): Tensor {
    return sublayers.reduce((h, f, i) => {
      const norm = this.norms[i]!;
      return this.normFirst ? h.add(f(norm.call(h))) : norm.call(h.add(f(h)));
    }, x);
  }

  protected abstract twin(): this;

  /** A new layer of the same configuration holding copies of this one's parameters (PyTorch's deepcopy, as the stacks make their layers). */
  copy(): this {
    const twin = this.twin();
    const mine = new Map(this.namedParameters());
    for (const [name, t] of twin.namedParameters()) {
      const src = mine.get(name)!;
      if (src.deviceType !== 'cpu') throw new KilnError(`${this.constructor.name}: build the stack from a layer still on the CPU, then move the stack (its layers are copies of the one given)`);
      t.setData(src.clone());
    }
    twin.training = this.training;
    return twin;
  }
}

/** Self-attention and a feed-forward network, each with a residual and a layer norm, as torch.nn.TransformerEncoderLayer. */
export class TransformerEncoderLayer extends TransformerLayer {
  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super('TransformerEncoderLayer', dModel, nhead, opts, false);
  }

  /** src [S, N, E] (batchFirst [N, S, E], or unbatched [S, E]); returns the same shape. */
  forward(src: Tensor, opts: EncoderCallOptions = {}): Tensor {
    return this.residuals(src, [
      (x) => this.attend(this.selfAttn, x, x, opts.mask, opts.srcKeyPaddingMask, opts.isCausal),
      (x) => this.feedForward(x),
    ]);
  }

  protected twin(): this {
    return new TransformerEncoderLayer(this.dModel, this.nhead, this.opts) as this;
  }
}

/** Self-attention, attention over the encoder's memory and a feed-forward network, as torch.nn.TransformerDecoderLayer. */
export class TransformerDecoderLayer extends TransformerLayer {
  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super('TransformerDecoderLayer', dModel, nhead, opts, true);
  }

  get norm3(): LayerNorm { return this.norms[2]!; }

  /** tgt [T, N, E] and the encoder's memory [S, N, E] (batch first, or unbatched, alike); returns tgt's shape. */
  forward(tgt: Tensor, memory: Tensor, opts: DecoderCallOptions = {}): Tensor {
    const cross = this.multiheadAttn!;
    return this.residuals(tgt, [
      (x) => this.attend(this.selfAttn, x, x, opts.tgtMask, opts.tgtKeyPaddingMask, opts.tgtIsCausal),
      (x) => this.attend(cross, x, memory, opts.memoryMask, opts.memoryKeyPaddingMask, opts.memoryIsCausal),
      (x) => this.feedForward(x),
    ]);
  }

  protected twin(): this {
    return new TransformerDecoderLayer(this.dModel, this.nhead, this.opts) as this;
  }
}

/** numLayers copies of one layer in sequence, then an optional norm: what both stacks hold. */
abstract class LayerStack<L extends TransformerLayer> extends Module {
  readonly layers: ModuleList<L>;
  readonly norm: Module | undefined;

  constructor(what: string, layer: L, readonly numLayers: number, opts: { norm?: Module }) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 1) throw new KilnError(`${what}: numLayers must be a positive integer, got ${numLayers}`);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => layer.copy()));
    this.norm = opts.norm;
  }

  /** Runs `step` through the layers in order, then the norm. */
  protected through(x: Tensor, step: (layer: L, h: Tensor) => Tensor): Tensor {
    for (const layer of this.layers) x = step(layer, x);
    return this.norm ? this.norm.call(x) : x;
  }
}

/** numLayers copies of an encoder layer in sequence, then an optional norm, as torch.nn.TransformerEncoder. */
export class TransformerEncoder extends LayerStack<TransformerEncoderLayer> {
  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, opts: { norm?: Module } = {}) {
    super('TransformerEncoder', encoderLayer, numLayers, opts);
  }

  forward(src: Tensor, opts: EncoderCallOptions = {}): Tensor {
    return this.through(src, (layer, x) => layer.call(x, opts));
  }
}

/** numLayers copies of a decoder layer in sequence, then an optional norm, as torch.nn.TransformerDecoder. */
export class TransformerDecoder extends LayerStack<TransformerDecoderLayer> {
  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, opts: { norm?: Module } = {}) {
    super('TransformerDecoder', decoderLayer, numLayers, opts);
  }

  forward(tgt: Tensor, memory: Tensor, opts: DecoderCallOptions = {}): Tensor {
    return this.through(tgt, (layer, x) => layer.call(x, memory, opts));
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  readonly dModel?: number;
  readonly nhead?: number;
  readonly numEncoderLayers?: number;
  readonly numDecoderLayers?: number;
}

export interface TransformerCallOptions {
  readonly srcMask?: Tensor;
  readonly tgtMask?: Tensor;
  readonly memoryMask?: Tensor;
  readonly srcKeyPaddingMask?: Tensor;
  readonly tgtKeyPaddingMask?: Tensor;
  readonly memoryKeyPaddingMask?: Tensor;
  readonly srcIsCausal?: boolean;
  readonly tgtIsCausal?: boolean;
  readonly memoryIsCausal?: boolean;
}

/** An encoder and a decoder stack, each ending in a layer norm, as torch.nn.Transformer (its weights Xavier-initialised as PyTorch's). */
export class Transformer extends Module {
  readonly encoder: TransformerEncoder;
  readonly decoder: TransformerDecoder;
  readonly dModel: number;
  readonly nhead: number;

  constructor(opts: TransformerOptions = {}) {
    super();
    this.dModel = opts.dModel ?? 512;
    this.nhead = opts.nhead ?? 8;
    const norm = () => new LayerNorm(this.dModel, { eps: opts.layerNormEps ?? 1e-5, bias: opts.bias !== false });
    this.encoder = new TransformerEncoder(new TransformerEncoderLayer(this.dModel, this.nhead, opts), opts.numEncoderLayers ?? 6, { norm: norm() });
    this.decoder = new TransformerDecoder(new TransformerDecoderLayer(this.dModel, this.nhead, opts), opts.numDecoderLayers ?? 6, { norm: norm() });
    // PyTorch's _reset_parameters: every weight matrix Xavier-uniform, after the layers were copied.
    for (const p of this.parameters()) if (p.shape.length > 1) xavierUniform_(p);
  }

  /** src [S, N, E] and tgt [T, N, E] (batch first, or unbatched, alike); returns tgt's shape. */
  forward(src: Tensor, tgt: Tensor, opts: TransformerCallOptions = {}): Tensor {
    const memory = this.encoder.call(src, {
      ...(opts.srcMask ? { mask: opts.srcMask } : {}),
      ...(opts.srcKeyPaddingMask ? { srcKeyPaddingMask: opts.srcKeyPaddingMask } : {}),
      ...(opts.srcIsCausal ? { isCausal: true } : {}),
    });
    return this.decoder.call(tgt, memory, {
      ...(opts.tgtMask ? { tgtMask: opts.tgtMask } : {}),
      ...(opts.memoryMask ? { memoryMask: opts.memoryMask } : {}),
      ...(opts.tgtKeyPaddingMask ? { tgtKeyPaddingMask: opts.tgtKeyPaddingMask } : {}),
      ...(opts.memoryKeyPaddingMask ? { memoryKeyPaddingMask: opts.memoryKeyPaddingMask } : {}),
      ...(opts.tgtIsCausal ? { tgtIsCausal: true } : {}),
      ...(opts.memoryIsCausal ? { memoryIsCausal: true } : {}),
    });
  }

  /** The float causal mask [size, size]: 0 on and below the diagonal, -inf above, as generate_square_subsequent_mask. */
  static generateSquareSubsequentMask(size: number): Tensor {
    return tensor(triangle(size, size, 1, true).map((hidden) => (hidden ? -Infinity : 0))).reshape([size, size]);
  }
}
