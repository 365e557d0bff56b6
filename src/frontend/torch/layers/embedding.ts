import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { normal } from './init.js';

/** A lookup table of `numEmbeddings` vectors of `embeddingDim`, as torch.nn.Embedding (indices are i32). */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { paddingIdx?: number; weight?: Tensor } = {}) {
    super();
    // A given weight (fromPretrained) draws nothing from the default generator, as PyTorch's _weight.
    let w = opts.weight ?? normal([numEmbeddings, embeddingDim]);
    const pad = opts.paddingIdx;
    if (pad !== undefined && !opts.weight) {
      if (pad < -numEmbeddings || pad >= numEmbeddings) throw new KilnError(`Embedding: paddingIdx ${pad} must be within num_embeddings (${numEmbeddings})`);
      // The padding row starts at zero, as in PyTorch.
      const data = w.data;
      const row = (pad + numEmbeddings) % numEmbeddings;
      const values = Float32Array.from(data.data as Float32Array);
      values.fill(0, row * embeddingDim, (row + 1) * embeddingDim);
      w = Tensor.fromData({ dtype: 'f32', shape: data.shape, data: values });
    }
    this.weight = this.registerParameter('weight', w);
  }

  /**
   * An Embedding holding `embeddings` [num, dim] (a copy), as nn.Embedding.from_pretrained:
   * frozen (no gradient) unless `freeze` is false.
   */
  static fromPretrained(embeddings: Tensor, opts: { freeze?: boolean; paddingIdx?: number } = {}): Embedding {
    if (embeddings.shape.length !== 2) throw new KilnError(`Embedding.fromPretrained: embeddings must be 2-D [num_embeddings, embedding_dim], got [${embeddings.shape.join(', ')}]`);
    const [n, d] = embeddings.shape as [number, number];
    const e = new Embedding(n, d, { weight: embeddings.clone(), ...(opts.paddingIdx !== undefined ? { paddingIdx: opts.paddingIdx } : {}) });
    e.weight.requiresGrad = opts.freeze === false;
    return e;
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }

  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight);
  }
}
