import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { normal } from './init.js';

/** A lookup table of `numEmbeddings` vectors of `embeddingDim`, as torch.nn.Embedding (indices are i32). */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { paddingIdx?: number } = {}) {
    super();
    let w = normal([numEmbeddings, embeddingDim]);
    const pad = opts.paddingIdx;
    if (pad !== undefined) {
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

  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight);
  }
}
