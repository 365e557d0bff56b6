import type { Value } from '../../ir/graph.js';
import type { OpTable } from '../../ir/ops/index.js';
import { transposePerm } from '../../ir/ops/movement.js';
import { numel } from '../../ir/types.js';
import type { GradContext, GradRule } from './grad-context.js';
import { gridSample } from './grad-rules-grid-sample.js';
import { det, linearAttention } from './grad-rules-linalg.js';
import { reducedAxes } from './grad-rules-reduce.js';
import { resize } from './grad-rules-resize.js';

// One gradient rule per op, IR to IR: given the forward node and dL/d(result), the gradient of
// each operand. This file holds arithmetic, matmul, views, sums and softmax; rules.ts lists the
// families' tables, and ops without a rule on purpose are listed in non-differentiable.ts.

const lastTwoSwapped = (rank: number) => {
  const p = Array.from({ length: rank }, (_, i) => i);
  [p[rank - 2], p[rank - 1]] = [p[rank - 1]!, p[rank - 2]!];
  return p;
};

/** A view op: the gradient is dy viewed in the operand's shape (its attributes only decided the shape). */
const view: GradRule = (c) => {
  for (const k of Object.keys(c.node.attrs)) c.attr(k);
  return [c.emit('reshape', [c.dy], { shape: [...c.inputs[0]!.type.shape] })];
};

const mul = (c: GradContext, a: Value, b: Value) => c.emit('mul', [a, b]);

/** Rules of arithmetic, matmul, views, sums, softmax, and of the ops differentiated as written out (resize, grid_sample, det, linear_attention). */
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
  matmul: (c) => {
    const [a, b] = c.inputs as [Value, Value];
    const bt = c.emit('transpose', [b], { perm: lastTwoSwapped(b.type.shape.length) });
    const at = c.emit('transpose', [a], { perm: lastTwoSwapped(a.type.shape.length) });
    return [c.unbroadcast(c.emit('matmul', [c.dy, bt]), a.type.shape), c.unbroadcast(c.emit('matmul', [at, c.dy]), b.type.shape)];
  },
  transpose: (c) => {
    const perm = transposePerm(c.inputs[0]!.type.shape.length, c.attr<number[]>('perm'));
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.emit('transpose', [c.dy], { perm: inverse })];
  },
  reshape: view,
  flatten: view,
  squeeze: view,
  unsqueeze: view,
  expand: (c) => {
    c.attr('shape');
    return [c.unbroadcast(c.dy, c.inputs[0]!.type.shape)];
  },
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
    const s = c.emit('sum', [mul(c, c.dy, y)], { axes: [c.attr<number>('axis')], keepdims: true });
    return [mul(c, y, c.emit('sub', [c.dy, s]))];
  },
  log_softmax: (c) => {
    // dx = dy - exp(y) * sum(dy, axis)
    const y = c.outputs[0]!;
    const s = c.emit('sum', [c.dy], { axes: [c.attr<number>('axis')], keepdims: true });
    return [c.emit('sub', [c.dy, mul(c, c.emit('exp', [y]), s)])];
  },
  resize,
  grid_sample: gridSample,
  det,
  linear_attention: linearAttention,
};
