import { KilnError } from '../../ir/errors.js';
import { Module } from './module.js';
import { defaultRandom } from './random.js';
import { rand, type Tensor } from './tensor.js';

/** y = x W^T + b, with W of shape [out, in] initialised like PyTorch (uniform in ±1/sqrt(in)). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    const rng = defaultRandom.current;
    this.weight = this.registerParameter('weight', rand([outFeatures, inFeatures], -bound, bound, { rng }));
    this.bias = opts.bias === false ? undefined : this.registerParameter('bias', rand([outFeatures], -bound, bound, { rng }));
  }

  forward(x: Tensor): Tensor {
    const last = x.shape.at(-1);
    if (last !== this.inFeatures) {
      throw new KilnError(`Linear(${this.inFeatures}, ${this.outFeatures}) got an input of shape [${x.shape.join(',')}]; its last dimension must be ${this.inFeatures}`);
    }
    const y = x.matmul(this.weight.t());
    return this.bias ? y.add(this.bias) : y;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** Runs its modules in order; children are named 0, 1, 2, ... */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.registerModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.call(h), x);
  }
}
