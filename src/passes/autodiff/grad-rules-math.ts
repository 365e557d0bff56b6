import type { Value } from '../../ir/graph.js';
import type { OpTable } from '../../ir/ops/index.js';
import type { GradContext, GradRule } from './grad-context.js';
import { exprs } from './grad-exprs.js';

// Gradient rules of the elementwise math ops: activations, transcendental and trigonometric
// functions, rounding and remainders. Each is dy times the derivative, built from IR ops so that
// it fuses with its neighbours; rules reuse the forward result where that is cheaper.

type Exprs = ReturnType<typeof exprs>;

/** A unary rule dy * f'(x), given f' as a formula in the operand x and the result y. */
const chain = (derivative: (e: Exprs, x: Value, y: Value, c: GradContext) => Value): GradRule =>
  (c) => [c.emit('mul', [c.dy, derivative(exprs(c, c.inputs[0]!), c.inputs[0]!, c.outputs[0]!, c)])];

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** d/dx x Phi(x) = Phi(x) + x phi(x) (exact form), or the derivative of the tanh form as written. */
const gelu = chain((e, x, _, c) => {
  const approximate = c.attr<string>('approximate');
  if (approximate === 'tanh') {
    // y = x/2 (1 + tanh(u)), u = k (x + a x^3): y' = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3 a x^2).
    const x2 = e.mul(x, x);
    const t = e.fn('tanh', e.mul(e.add(x, e.mul(GELU_CUBIC, e.mul(x2, x))), SQRT_2_OVER_PI));
    const du = e.mul(SQRT_2_OVER_PI, e.add(1, e.mul(3 * GELU_CUBIC, x2)));
    return e.add(e.mul(0.5, e.add(1, t)), e.mul(e.mul(0.5, x), e.mul(e.sub(1, e.mul(t, t)), du)));
  }
  if (approximate !== 'none') c.refuse('approximate', 'the rule knows "none" and "tanh"');
  const cdf = e.mul(0.5, e.add(1, e.fn('erf', e.mul(x, Math.SQRT1_2))));
  const pdf = e.mul(e.fn('exp', e.mul(e.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return e.add(cdf, e.mul(x, pdf));
});

/** 1 / sqrt(1 - x^2) times `sign` (asin, acos). */
const arcsine = (sign: number) => chain((e, x) => e.div(sign, e.fn('sqrt', e.sub(1, e.mul(x, x)))));

/** Rounding ops are piecewise constant: zero almost everywhere (PyTorch gives zeros too). */
const zero: GradRule = (c) => [c.zeros(c.inputs[0]!.type.shape, c.dy)];

/**
 * Remainders a - b q with q = floor(a/b) (mod) or trunc(a/b) (fmod): d/da = 1, d/db = -q, and
 * q = round((a - y) / b) recovers the quotient from the result, a whole number, without a trunc op.
 */
const remainder: GradRule = (c) => {
  const [a, b] = c.inputs as [Value, Value];
  const e = exprs(c, c.dy);
  const q = e.fn('round', e.div(e.sub(a, c.outputs[0]!), b));
  return [c.unbroadcast(c.dy, a.type.shape), c.unbroadcast(c.emit('neg', [e.mul(c.dy, q)]), b.type.shape)];
};

export const mathGradRules: OpTable<GradRule> = {
  relu: (c) => {
    const x = c.inputs[0]!;
    const e = exprs(c, x);
    return [e.where(e.cmp('greater', x, 0), c.dy, 0)];
  },
  leaky_relu: (c) => {
    const x = c.inputs[0]!;
    const e = exprs(c, x);
    return [e.where(e.cmp('greater', x, 0), c.dy, e.mul(c.dy, c.attr<number>('alpha')))];
  },
  exp: chain((_, __, y) => y),
  log: (c) => [c.emit('div', [c.dy, c.inputs[0]!])],
  sqrt: (c) => [c.emit('div', [c.dy, exprs(c, c.dy).mul(c.outputs[0]!, 2)])],
  rsqrt: chain((e, x, y) => e.mul(e.div(y, x), -0.5)),
  sigmoid: chain((e, _, y) => e.mul(y, e.sub(1, y))),
  tanh: chain((e, _, y) => e.sub(1, e.mul(y, y))),
  // d/dx x s(x) = s (1 + x (1 - s))
  silu: chain((e, x) => {
    const s = e.fn('sigmoid', x);
    return e.mul(s, e.add(1, e.mul(x, e.sub(1, s))));
  }),
  softplus: chain((e, x) => e.fn('sigmoid', x)),
  gelu,
  // alpha inside the linear ramp (0 < alpha x + beta < 1), 0 on the flat parts.
  hardsigmoid: chain((e, x, _, c) => {
    const z = e.add(e.mul(x, c.attr<number>('alpha')), c.attr<number>('beta'));
    return e.where(e.cmp('greater', z, 0), e.where(e.cmp('less', z, 1), c.attr<number>('alpha'), 0), 0);
  }),
  // PyTorch's: 0 below -3, x/3 + 1/2 up to 3 (inclusive), 1 above.
  hardswish: chain((e, x) => e.where(e.cmp('less', x, -3), 0, e.where(e.cmp('less_equal', x, 3), e.add(e.div(x, 3), 0.5), 1))),
  erf: chain((e, x) => e.mul(e.fn('exp', e.mul(e.mul(x, x), -1)), 2 / Math.sqrt(Math.PI))),
  sin: chain((e, x) => e.fn('cos', x)),
  cos: chain((e, x) => e.fn('neg', e.fn('sin', x))),
  tan: chain((e, _, y) => e.add(1, e.mul(y, y))),
  asin: arcsine(1),
  acos: arcsine(-1),
  atan: chain((e, x) => e.div(1, e.add(1, e.mul(x, x)))),
  sinh: chain((e, x) => e.fn('cosh', x)),
  cosh: chain((e, x) => e.fn('sinh', x)),
  asinh: chain((e, x) => e.div(1, e.fn('sqrt', e.add(e.mul(x, x), 1)))),
  acosh: chain((e, x) => e.div(1, e.fn('sqrt', e.sub(e.mul(x, x), 1)))),
  atanh: chain((e, x) => e.div(1, e.sub(1, e.mul(x, x)))),
  log1p: chain((e, x) => e.div(1, e.add(x, 1))),
  expm1: chain((e, x) => e.fn('exp', x)),
  floor: zero,
  ceil: zero,
  round: zero,
  mod: remainder,
  fmod: remainder,
};
