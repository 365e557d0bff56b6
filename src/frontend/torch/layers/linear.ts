import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { reprValue } from '../module-repr.js';
import type { Tensor } from '../tensor.js';
import { uniformFanIn } from './init.js';

/** y = x W^T + b, with W of shape [out, in] initialised like PyTorch (uniform in ±1/sqrt(in)). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    this.weight = this.registerParameter('weight', uniformFanIn([outFeatures, inFeatures], inFeatures));
    this.bias = opts.bias === false ? undefined : this.registerParameter('bias', uniformFanIn([outFeatures], inFeatures));
  }

  forward(x: Tensor): Tensor {
    const last = x.shape.at(-1);
    if (last !== this.inFeatures) {
      throw new KilnError(`Linear(${this.inFeatures}, ${this.outFeatures}) got an input of shape [${x.shape.join(',')}]; its last dimension must be ${this.inFeatures}`);
    }
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${reprValue(this.bias !== undefined)}`;
  }
}

/** Returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** The cosine similarity of two inputs along `dim` (default 1), as torch.nn.CosineSimilarity. */
export class CosineSimilarity extends Module {
  constructor(readonly opts: { dim?: number; eps?: number } = {}) { super(); }
  forward(x1: Tensor, x2: Tensor): Tensor { return F.cosineSimilarity(x1, x2, this.opts); }
}
