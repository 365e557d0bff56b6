import type { Value } from '../../ir/graph.js';
import type { OpTable } from '../../ir/ops/index.js';
import { leakyReluAttrs } from '../../ir/ops/elementwise.js';
import { transposeAttrs, transposePerm } from '../../ir/ops/movement.js';
import { reduceAttrs } from '../../ir/ops/reduce.js';
import { softmaxAttrs } from '../../ir/ops/softmax.js';
import { normalizeAxes } from '../../ir/ops/shape-util.js';
import { numel } from '../../ir/types.js';
import type { GradContext, GradRule } from './grad-context.js';
import { attrsOf } from '../../ir/attrs.js';

// One gradient rule per op, IR to IR: given the forward node and dL/d(result), the gradient of
// each operand. Rules reuse forward results where that is cheaper (exp, sigmoid, tanh, softmax).

const lastTwoSwapped = (rank: number) => {
  const p = Array.from({ length: rank }, (_, i) => i);
  [p[rank - 2], p[rank - 1]] = [p[rank - 1]!, p[rank - 2]!];
  return p;
};

function reducedAxes(c: GradContext): number[] {
  const rank = c.inputs[0]!.type.shape.length;
  const { axes } = attrsOf(c.node, reduceAttrs);
  return axes.length ? normalizeAxes(axes, rank) : Array.from({ length: rank }, (_, i) => i);
}

const mul = (c: GradContext, a: Value, b: Value) => c.emit('mul', [a, b]);

/** Rules of the elementwise, matmul, movement, reduction and softmax ops. */
export const coreGradRules: OpTable<GradRule> = {
  add: (c) => c.inputs.map((x) => c.unbroadcast(c.dy, x.type.shape)),
  sub: (c) => [c.unbroadcast(c.dy, c.inputs[0]!.type.shape), c.unbroadcast(c.emit('neg', [c.dy]), c.inputs[1]!.type.shape)],
  mul: (c) => {
    const [a, b] = c.inputs as [Value, Value];
    return [c.unbroadcast(mul(c, c.dy, b), a.type.shape), c.unbroadcast(mul(c, c.dy, a), b.type.shape)];
  },
  div: (c) => {
    const [a, b] = c.inputs as [Value, Value];
    const da = c.emit('div', [c.dy, b]);
    // d(a/b)/db = -(a/b)/b
    const db = c.emit('neg', [c.emit('div', [mul(c, c.dy, c.outputs[0]!), b])]);
    return [c.unbroadcast(da, a.type.shape), c.unbroadcast(db, b.type.shape)];
  },
  neg: (c) => [c.emit('neg', [c.dy])],
  pow: (c) => {
    // d(a^b)/da = b * a^(b-1); d(a^b)/db = a^b * log(a)
    const [a, b] = c.inputs as [Value, Value];
    const y = c.outputs[0]!;
    const da = mul(c, c.dy, mul(c, b, c.emit('pow', [a, c.emit('sub', [b, c.scalar(1, b)])])));
    const db = mul(c, c.dy, mul(c, y, c.emit('log', [a])));
    return [c.unbroadcast(da, a.type.shape), c.unbroadcast(db, b.type.shape)];
  },
  relu: (c) => {
    const x = c.inputs[0]!;
    const zero = c.scalar(0, x);
    return [c.emit('where', [c.emit('greater', [x, zero]), c.dy, zero])];
  },
  leaky_relu: (c) => {
    const x = c.inputs[0]!;
    const scaled = mul(c, c.dy, c.scalar(attrsOf(c.node, leakyReluAttrs).alpha, x));
    return [c.emit('where', [c.emit('greater', [x, c.scalar(0, x)]), c.dy, scaled])];
  },
  exp: (c) => [mul(c, c.dy, c.outputs[0]!)],
  log: (c) => [c.emit('div', [c.dy, c.inputs[0]!])],
  sqrt: (c) => [c.emit('div', [c.dy, mul(c, c.outputs[0]!, c.scalar(2, c.dy))])],
  sigmoid: (c) => {
    const y = c.outputs[0]!;
    return [mul(c, c.dy, mul(c, y, c.emit('sub', [c.scalar(1, y), y])))];
  },
  tanh: (c) => {
    const y = c.outputs[0]!;
    return [mul(c, c.dy, c.emit('sub', [c.scalar(1, y), mul(c, y, y)]))];
  },
  gelu: (c) => {
    // Exact form: d/dx x*Phi(x) = Phi(x) + x*phi(x).
    const x = c.inputs[0]!;
    const cdf = mul(c, c.scalar(0.5, x), c.emit('add', [c.scalar(1, x), c.emit('erf', [mul(c, x, c.scalar(Math.SQRT1_2, x))])]));
    const pdf = mul(c, c.emit('exp', [mul(c, mul(c, x, x), c.scalar(-0.5, x))]), c.scalar(1 / Math.sqrt(2 * Math.PI), x));
    return [mul(c, c.dy, c.emit('add', [cdf, mul(c, x, pdf)]))];
  },
  matmul: (c) => {
    const [a, b] = c.inputs as [Value, Value];
    const bt = c.emit('transpose', [b], { perm: lastTwoSwapped(b.type.shape.length) });
    const at = c.emit('transpose', [a], { perm: lastTwoSwapped(a.type.shape.length) });
    return [c.unbroadcast(c.emit('matmul', [c.dy, bt]), a.type.shape), c.unbroadcast(c.emit('matmul', [at, c.dy]), b.type.shape)];
  },
  transpose: (c) => {
    const perm = transposePerm(c.inputs[0]!.type.shape.length, attrsOf(c.node, transposeAttrs).perm);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.emit('transpose', [c.dy], { perm: inverse })];
  },
  reshape: (c) => [c.emit('reshape', [c.dy], { shape: [...c.inputs[0]!.type.shape] })],
  flatten: (c) => [c.emit('reshape', [c.dy], { shape: [...c.inputs[0]!.type.shape] })],
  squeeze: (c) => [c.emit('reshape', [c.dy], { shape: [...c.inputs[0]!.type.shape] })],
  unsqueeze: (c) => [c.emit('reshape', [c.dy], { shape: [...c.inputs[0]!.type.shape] })],
  expand: (c) => [c.unbroadcast(c.dy, c.inputs[0]!.type.shape)],
  sum: (c) => [c.expandOver(c.dy, reducedAxes(c), c.inputs[0]!.type.shape)],
  mean: (c) => {
    const axes = reducedAxes(c);
    const x = c.inputs[0]!;
    const count = numel(axes.map((a) => x.type.shape[a]!));
    return [c.expandOver(c.emit('div', [c.dy, c.scalar(count, c.dy)]), axes, x.type.shape)];
  },
  softmax: (c) => {
    // dx = y * (dy - sum(dy * y, axis))
    const y = c.outputs[0]!;
    const { axis } = attrsOf(c.node, softmaxAttrs);
    const s = c.emit('sum', [mul(c, c.dy, y)], { axes: [axis], keepdims: true });
    return [mul(c, y, c.emit('sub', [c.dy, s]))];
  },
  log_softmax: (c) => {
    // dx = dy - exp(y) * sum(dy, axis)
    const y = c.outputs[0]!;
    const s = c.emit('sum', [c.dy], { axes: [attrsOf(c.node, softmaxAttrs).axis], keepdims: true });
    return [c.emit('sub', [c.dy, mul(c, c.emit('exp', [y]), s)])];
  },
};
