// Elementwise ONNX ops: arithmetic, comparisons, logic, and activations that kiln has as
// one op or composes from a few (Elu, Selu, Softplus, PRelu, ...), all of which fuse.
import { isFloat } from '../../../ir/types.js';
import { isConst, typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { constValues } from '../tensor.js';
import { castTo, foldPairwise, legacyBroadcastOperands, presentInputs, reshapeTo, scalarLike } from './helpers.js';

const BINARY: Record<string, string> = {
  Add: 'add', Sub: 'sub', Mul: 'mul', Div: 'div',
  Equal: 'equal', Less: 'less', Greater: 'greater', LessOrEqual: 'less_equal', GreaterOrEqual: 'greater_equal',
  And: 'logical_and', Or: 'logical_or', Xor: 'not_equal',
};
for (const [onnx, kiln] of Object.entries(BINARY)) {
  defineOnnxOp(onnx, (n) => n.b.op(kiln, legacyBroadcastOperands(n)));
}

const UNARY: Record<string, string> = {
  Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh', Exp: 'exp', Log: 'log', Sqrt: 'sqrt', Erf: 'erf',
  Neg: 'neg', Abs: 'abs', HardSwish: 'hardswish', Not: 'logical_not',
};
for (const [onnx, kiln] of Object.entries(UNARY)) {
  defineOnnxOp(onnx, (n) => n.b.op(kiln, [n.input(0)]));
}

// Pow's exponent may have another type than its base; kiln's pow wants floats of one type.
defineOnnxOp('Pow', (n) => {
  const [x, y] = legacyBroadcastOperands(n);
  const dtype = typeOf(x).dtype;
  const work = isFloat(dtype) ? dtype : 'f32';
  const r = n.b.op('pow', [castTo(n.b, x, work), castTo(n.b, y, work)]);
  return castTo(n.b, r, dtype);
});

defineOnnxOp('Max', (n) => foldPairwise(n.b, 'maximum', presentInputs(n)));
defineOnnxOp('Min', (n) => foldPairwise(n.b, 'minimum', presentInputs(n)));
defineOnnxOp('Sum', (n) => foldPairwise(n.b, 'add', presentInputs(n)));
defineOnnxOp('Mean', (n) => {
  const xs = presentInputs(n);
  const sum = foldPairwise(n.b, 'add', xs);
  return n.b.op('div', [sum, scalarLike(n.b, sum, xs.length)]);
});

defineOnnxOp('Where', (n) => n.b.op('where', [n.input(0), n.input(1), n.input(2)]));


defineOnnxOp('Reciprocal', (n) => {
  const x = n.input(0);
  return n.b.op('div', [scalarLike(n.b, x, 1), x]);
});

// Clip's bounds are attributes before opset 11 and optional inputs from then on; bounds known at
// import become the clip op's attributes, bounds computed at run time (or NaN, which makes every
// element NaN, as NumPy's clip) become max/min.
defineOnnxOp('Clip', (n) => {
  const x = n.input(0);
  if (n.opset < 11) {
    const lo = n.attrs.float('min');
    const hi = n.attrs.float('max');
    return n.b.op('clip', [x], { ...(lo !== undefined ? { min: lo } : {}), ...(hi !== undefined ? { max: hi } : {}) });
  }
  let r = x;
  const attrs: Record<string, number> = {};
  for (const [i, key, op] of [[1, 'min', 'maximum'], [2, 'max', 'minimum']] as const) {
    const bound = n.optional(i);
    if (!bound) continue;
    if (typeOf(bound).shape.length > 0 && typeOf(bound).shape.some((d) => d !== 1)) n.fail(`its ${key} must be a scalar`);
    if (isConst(bound) && !Number.isNaN(constValues(bound)[0])) attrs[key] = constValues(bound)[0]!;
    else r = n.b.op(op, [r, reshapeTo(n.b, bound, [])]);
  }
  return Object.keys(attrs).length ? n.b.op('clip', [r], attrs) : r;
});

defineOnnxOp('LeakyRelu', (n) => n.b.op('leaky_relu', [n.input(0)], { alpha: n.attrs.float('alpha', 0.01) }));
// Swish (opset 24): x * sigmoid(alpha * x); kiln's silu when alpha is 1.
defineOnnxOp('Swish', (n) => {
  const x = n.input(0);
  const alpha = n.attrs.float('alpha', 1);
  if (alpha === 1) return n.b.op('silu', [x]);
  return n.b.op('mul', [x, n.b.op('sigmoid', [n.b.op('mul', [x, scalarLike(n.b, x, alpha)])])]);
});
defineOnnxOp('HardSigmoid', (n) => n.b.op('hardsigmoid', [n.input(0)], { alpha: n.attrs.float('alpha', 0.2), beta: n.attrs.float('beta', 0.5) }));
defineOnnxOp('Gelu', (n) => n.b.op('gelu', [n.input(0)], { approximate: n.attrs.string('approximate', 'none') }));

/** alpha * (exp(min(x, 0)) - 1): the negative side of Elu, Selu and Celu, never overflowing. */
function expm1Negative(n: OnnxNode, x: Operand, alpha: number): Operand {
  const b = n.b;
  const e = b.op('exp', [b.op('minimum', [x, scalarLike(b, x, 0)])]);
  return b.op('mul', [scalarLike(b, x, alpha), b.op('sub', [e, scalarLike(b, x, 1)])]);
}

// elu(x) = relu(x) + alpha * (exp(min(x, 0)) - 1): exact on both sides, with no select.
defineOnnxOp('Elu', (n) => {
  const x = n.input(0);
  return n.b.op('add', [n.b.op('relu', [x]), expm1Negative(n, x, n.attrs.float('alpha', 1))]);
});
defineOnnxOp('Selu', (n) => {
  const x = n.input(0);
  const alpha = n.attrs.float('alpha', 1.67326319217681884765625);
  const gamma = n.attrs.float('gamma', 1.05070102214813232421875);
  const elu = n.b.op('add', [n.b.op('relu', [x]), expm1Negative(n, x, alpha)]);
  return n.b.op('mul', [scalarLike(n.b, x, gamma), elu]);
});
defineOnnxOp('Celu', (n) => {
  const x = n.input(0);
  const alpha = n.attrs.float('alpha', 1);
  const scaled = n.b.op('div', [x, scalarLike(n.b, x, alpha)]);
  return n.b.op('add', [n.b.op('relu', [x]), expm1Negative(n, scaled, alpha)]);
});

defineOnnxOp('Softplus', (n) => n.b.op('softplus', [n.input(0)]));
defineOnnxOp('Mish', (n) => {
  const x = n.input(0);
  return n.b.op('mul', [x, n.b.op('tanh', [n.b.op('softplus', [x])])]);
});
defineOnnxOp('Softsign', (n) => {
  const x = n.input(0);
  return n.b.op('div', [x, n.b.op('add', [scalarLike(n.b, x, 1), n.b.op('abs', [x])])]);
});

// prelu(x) = relu(x) + slope * min(x, 0). Before opset 7 a [C] slope meant one per channel
// (dimension 1); from opset 7 on it broadcasts NumPy-style.
defineOnnxOp('PRelu', (n) => {
  const x = n.input(0);
  let slope = n.input(1);
  const xs = typeOf(x).shape;
  const ss = typeOf(slope).shape;
  if (n.opset < 7 && ss.length === 1 && xs.length > 2 && ss[0] === xs[1] && ss[0] !== 1) {
    slope = reshapeTo(n.b, slope, [ss[0]!, ...new Array<number>(xs.length - 2).fill(1)]);
  }
  const neg = n.b.op('mul', [slope, n.b.op('minimum', [x, scalarLike(n.b, x, 0)])]);
  return n.b.op('add', [n.b.op('relu', [x]), neg]);
});

defineOnnxOp('ThresholdedRelu', (n) => {
  const x = n.input(0);
  const above = n.b.op('greater', [x, scalarLike(n.b, x, n.attrs.float('alpha', 1))]);
  return n.b.op('where', [above, x, scalarLike(n.b, x, 0)]);
});

// sign(x) is x itself where x is neither above nor below 0: at ±0, and at NaN (NaN in, NaN out).
defineOnnxOp('Sign', (n) => {
  const x = n.input(0);
  const b = n.b;
  const zero = scalarLike(b, x, 0);
  const neg = b.op('where', [b.op('less', [x, zero]), scalarLike(b, x, -1), x]);
  return b.op('where', [b.op('greater', [x, zero]), scalarLike(b, x, 1), neg]);
});

defineOnnxOp('Shrink', (n) => {
  const x = n.input(0);
  const b = n.b;
  const lambd = n.attrs.float('lambd', 0.5);
  const bias = n.attrs.float('bias', 0);
  const low = b.op('less', [x, scalarLike(b, x, -lambd)]);
  const high = b.op('greater', [x, scalarLike(b, x, lambd)]);
  const inner = b.op('where', [high, b.op('sub', [x, scalarLike(b, x, bias)]), scalarLike(b, x, 0)]);
  return b.op('where', [low, b.op('add', [x, scalarLike(b, x, bias)]), inner]);
});

// Identity (of a tensor, a sequence or an optional: opset 14 and 16 widen it to those), and
// Dropout at inference or with ratio 0 (the identity; its optional mask output is all true).
// Training with a ratio above 0 drops random elements, which kiln does not emulate.
defineOnnxOp('Identity', (n) => n.anyInput(0) ?? n.fail('needs input 0, which is missing'));
defineOnnxOp('Dropout', (n) => {
  const x = n.input(0);
  if (n.opset >= 12 && n.optional(2) && n.values(2, 'training_mode')[0] !== 0) {
    const ratio = n.optional(1) ? n.values(1, 'ratio')[0]! : 0.5;
    if (ratio !== 0) n.unsupported(`training_mode=true with ratio ${ratio} drops random elements (kiln imports models for inference; it takes training_mode=true with ratio 0, the identity)`);
  }
  const mask = n.outputUsed(1) ? n.b.scalar('bool', 1, typeOf(x).shape) : undefined;
  return [x, mask];
});
