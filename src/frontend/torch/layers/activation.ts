import { Module } from '../module.js';
import type { Tensor } from '../tensor.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}

/** GELU; `approximate: 'tanh'` for its tanh form. */
export class GELU extends Module {
  constructor(readonly opts: { approximate?: 'none' | 'tanh' } = {}) { super(); }
  forward(x: Tensor): Tensor { return x.gelu(this.opts); }
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
}

/** Softmax along `dim` (required, as PyTorch deprecated the implicit choice). */
export class Softmax extends Module {
  constructor(readonly dim: number) { super(); }
  forward(x: Tensor): Tensor { return x.softmax(this.dim); }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) { super(); }
  forward(x: Tensor): Tensor { return x.logSoftmax(this.dim); }
}
