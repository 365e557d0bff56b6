import * as F from '../functional.js';
import { Module } from '../module.js';
import { full, where, type Tensor } from '../tensor.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}

/** GELU; `approximate: 'tanh'` for its tanh form. */
export class GELU extends Module {
  constructor(readonly opts: { approximate?: 'none' | 'tanh' } = {}) { super(); }
  forward(x: Tensor): Tensor { return x.gelu(this.opts); }
  override extraRepr(): string { return `approximate='${this.opts.approximate ?? 'none'}'`; }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor { return x.silu(); }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}

export class Hardswish extends Module {
  forward(x: Tensor): Tensor { return x.hardswish(); }
}

export class Hardsigmoid extends Module {
  forward(x: Tensor): Tensor { return x.hardsigmoid(); }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) { super(); }
  forward(x: Tensor): Tensor { return x.leakyRelu(this.negativeSlope); }
  override extraRepr(): string { return `negative_slope=${this.negativeSlope}`; }
}

/** Softmax along `dim` (required, as PyTorch deprecated the implicit choice). */
export class Softmax extends Module {
  constructor(readonly dim: number) { super(); }
  forward(x: Tensor): Tensor { return x.softmax(this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) { super(); }
  forward(x: Tensor): Tensor { return x.logSoftmax(this.dim); }
}

/** x where x > 0, else alpha * (exp(x) - 1), as torch.nn.ELU. */
export class ELU extends Module {
  constructor(readonly alpha = 1) { super(); }
  forward(x: Tensor): Tensor { return elu(x, this.alpha); }
}

/** x where x > 0, else a * x with `a` learned (one for all channels, or one per channel of dimension 1), as torch.nn.PReLU. */
export class PReLU extends Module {
  readonly weight: Tensor;
  constructor(readonly numParameters = 1, init = 0.25) {
    super();
    this.weight = this.registerParameter('weight', full([numParameters], init));
  }
  forward(x: Tensor): Tensor {
    const a = this.numParameters === 1 ? this.weight : this.weight.reshape([this.numParameters, ...x.shape.slice(2).map(() => 1)]);
    return where(x.gt(0), x, x.mul(a));
  }
}

function elu(x: Tensor, alpha: number): Tensor {
  return where(x.gt(0), x, x.exp().sub(1).mul(alpha));
}

export class ReLU6 extends Module {
  forward(x: Tensor): Tensor { return F.relu6(x); }
}

export class Hardtanh extends Module {
  constructor(readonly minVal = -1, readonly maxVal = 1) { super(); }
  forward(x: Tensor): Tensor { return F.hardtanh(x, this.minVal, this.maxVal); }
}

export class Softplus extends Module {
  constructor(readonly opts: { beta?: number; threshold?: number } = {}) { super(); }
  forward(x: Tensor): Tensor { return F.softplus(x, this.opts.beta, this.opts.threshold); }
}

export class Mish extends Module {
  forward(x: Tensor): Tensor { return F.mish(x); }
}

export class LogSigmoid extends Module {
  forward(x: Tensor): Tensor { return F.logsigmoid(x); }
}

export class Softsign extends Module {
  forward(x: Tensor): Tensor { return F.softsign(x); }
}

export class Tanhshrink extends Module {
  forward(x: Tensor): Tensor { return F.tanhshrink(x); }
}

export class CELU extends Module {
  constructor(readonly alpha = 1) { super(); }
  forward(x: Tensor): Tensor { return F.celu(x, this.alpha); }
}

export class SELU extends Module {
  forward(x: Tensor): Tensor { return F.selu(x); }
}

export class GLU extends Module {
  constructor(readonly dim = -1) { super(); }
  forward(x: Tensor): Tensor { return F.glu(x, this.dim); }
}
