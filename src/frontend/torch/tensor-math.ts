import { KilnError } from '../../ir/errors.js';
import type { DType } from '../../ir/types.js';
import { apply, binary, scalarLike } from './tensor-apply.js';
import { Tensor } from './tensor-core.js';

// Tensor methods: arithmetic, comparisons, activations and the matrix product (a number operand
// becomes a constant of this tensor's dtype and device); and `where`.

/** The methods this file adds to Tensor (exported so that their declarations name Tensor). */
export const arithmeticMethods = {
  add(this: Tensor, o: Tensor | number): Tensor { return binary('add', this, o); },
  sub(this: Tensor, o: Tensor | number): Tensor { return binary('sub', this, o); },
  mul(this: Tensor, o: Tensor | number): Tensor { return binary('mul', this, o); },
  div(this: Tensor, o: Tensor | number): Tensor { return binary('div', this, o); },
  pow(this: Tensor, o: Tensor | number): Tensor { return binary('pow', this, o); },
  maximum(this: Tensor, o: Tensor | number): Tensor { return binary('maximum', this, o); },
  minimum(this: Tensor, o: Tensor | number): Tensor { return binary('minimum', this, o); },
  eq(this: Tensor, o: Tensor | number): Tensor { return binary('equal', this, o); },
  ne(this: Tensor, o: Tensor | number): Tensor { return binary('not_equal', this, o); },
  lt(this: Tensor, o: Tensor | number): Tensor { return binary('less', this, o); },
  le(this: Tensor, o: Tensor | number): Tensor { return binary('less_equal', this, o); },
  gt(this: Tensor, o: Tensor | number): Tensor { return binary('greater', this, o); },
  ge(this: Tensor, o: Tensor | number): Tensor { return binary('greater_equal', this, o); },
  neg(this: Tensor): Tensor { return apply('neg', [this]); },
  abs(this: Tensor): Tensor { return apply('abs', [this]); },
  exp(this: Tensor): Tensor { return apply('exp', [this]); },
  log(this: Tensor): Tensor { return apply('log', [this]); },
  sqrt(this: Tensor): Tensor { return apply('sqrt', [this]); },
  rsqrt(this: Tensor): Tensor { return apply('rsqrt', [this]); },
  sin(this: Tensor): Tensor { return apply('sin', [this]); },
  cos(this: Tensor): Tensor { return apply('cos', [this]); },
  floor(this: Tensor): Tensor { return apply('floor', [this]); },
  ceil(this: Tensor): Tensor { return apply('ceil', [this]); },
  /** Rounds half to even, as torch.round. */
  round(this: Tensor): Tensor { return apply('round', [this]); },
  square(this: Tensor): Tensor { return this.mul(this); },
  erf(this: Tensor): Tensor { return apply('erf', [this]); },
  relu(this: Tensor): Tensor { return apply('relu', [this]); },
  sigmoid(this: Tensor): Tensor { return apply('sigmoid', [this]); },
  tanh(this: Tensor): Tensor { return apply('tanh', [this]); },
  silu(this: Tensor): Tensor { return apply('silu', [this]); },
  /** GELU; `approximate: 'tanh'` for its tanh form. */
  gelu(this: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor { return apply('gelu', [this], { approximate: opts.approximate ?? 'none' }); },
  hardswish(this: Tensor): Tensor { return apply('hardswish', [this]); },
  hardsigmoid(this: Tensor): Tensor { return apply('hardsigmoid', [this]); },
  leakyRelu(this: Tensor, negativeSlope = 0.01): Tensor { return apply('leaky_relu', [this], { alpha: negativeSlope }); },
  /**
   * Clamps to [min, max], as PyTorch takes it: `clamp(0, 6)`, `clamp(undefined, 1)` or
   * `clamp({ min: 0 })`; at least one bound is required.
   */
  clamp(this: Tensor, min?: number | { min?: number; max?: number }, max?: number): Tensor {
    const bounds = typeof min === 'object' && min !== null ? min : { min, max };
    const attrs: Record<string, number> = {};
    for (const k of ['min', 'max'] as const) {
      const v = bounds[k] ?? undefined;
      if (v === undefined) continue;
      if (typeof v !== 'number') throw new KilnError(`clamp: ${k} must be a number, got ${typeof v}`);
      attrs[k] = v;
    }
    if (!Object.keys(attrs).length) throw new KilnError("clamp: at least one of 'min' or 'max' must be given");
    return apply('clip', [this], attrs);
  },

  /** Matrix product with NumPy batching; a 1-D operand is a vector, as in torch.matmul. */
  /** The matrix product of two matrices (torch.mm; matmul takes every rank). */
  mm(this: Tensor, o: Tensor): Tensor {
    if (this.shape.length !== 2 || o.shape.length !== 2) throw new KilnError(`mm(): both operands must be matrices, got shapes [${this.shape.join(',')}] and [${o.shape.join(',')}]`);
    return this.matmul(o);
  },
  /** Batched matrix products of two 3-D tensors of one batch (torch.bmm). */
  bmm(this: Tensor, o: Tensor): Tensor {
    if (this.shape.length !== 3 || o.shape.length !== 3 || this.shape[0] !== o.shape[0]) throw new KilnError(`bmm(): both operands must be 3-D with the same batch, got shapes [${this.shape.join(',')}] and [${o.shape.join(',')}]`);
    return this.matmul(o);
  },
  matmul(this: Tensor, o: Tensor): Tensor {
    if (this.shape.length === 1 && o.shape.length === 1) return this.unsqueeze(0).matmul(o.unsqueeze(1)).reshape();
    if (this.shape.length === 1) return this.unsqueeze(0).matmul(o).squeeze(-2);
    if (o.shape.length === 1) return this.matmul(o.unsqueeze(1)).squeeze(-1);
    return apply('matmul', [this, o]);
  },
};

type ArithmeticMethods = typeof arithmeticMethods;

declare module './tensor-core.js' {
  interface Tensor extends ArithmeticMethods {}
}

Object.assign(Tensor.prototype, arithmeticMethods);

/**
 * Elements of `a` where `cond` is true, else of `b`. A number becomes a constant of the other
 * operand's dtype; when both are numbers, of int32 (integers) or float32, on `cond`'s device.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const dtype: DType = typeof a !== 'number' ? a.dtype : typeof b !== 'number' ? b.dtype
    : Number.isInteger(a) && Number.isInteger(b) ? 'i32' : 'f32';
  const owned: Tensor[] = [];
  const asTensor = (x: Tensor | number): Tensor => {
    if (typeof x !== 'number') return x;
    const s = scalarLike(cond, x, dtype);
    owned.push(s);
    return s;
  };
  try {
    return apply('where', [cond, asTensor(a), asTensor(b)]);
  } finally {
    for (const s of owned) if (s.deviceType === 'webgpu') s.dispose();
  }
}
