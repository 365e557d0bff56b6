// Reductions, arg-reductions, softmax and hardmax. The reduction axes moved from an attribute to an
// input in opset 13 (ReduceSum) and 18 (the others); noop_with_empty_axes came with them.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { castTo, normalizeAxis, positionsAlong, reshapeTo } from './helpers.js';

/** The reduce-op parameters of a node: axes ([] for all), keepdims, and whether it is a no-op. */
function reduction(n: OnnxNode, axesInputSince: number): { axes: number[]; keepdims: boolean; noop: boolean } {
  const axes = (n.opset < axesInputSince ? n.attrs.ints('axes') : n.optionalValues(1, 'axes')) ?? [];
  const noop = axes.length === 0 && n.attrs.int('noop_with_empty_axes', 0) !== 0;
  return { axes, keepdims: n.attrs.int('keepdims', 1) !== 0, noop };
}

/** Defines an ONNX reduction as `finish(kiln reduction(prepare(x)))`. */
function defineReduce(opType: string, kilnOp: string, since: number, prepare?: (n: OnnxNode, x: Operand) => Operand, finish?: (n: OnnxNode, y: Operand) => Operand): void {
  defineOnnxOp(opType, (n) => {
    const x = n.input(0);
    const { axes, keepdims, noop } = reduction(n, since);
    if (noop) return x;
    const y = n.b.op(kilnOp, [prepare ? prepare(n, x) : x], { axes, keepdims });
    return finish ? finish(n, y) : y;
  });
}

const square = (n: OnnxNode, x: Operand) => n.b.op('mul', [x, x]);
defineReduce('ReduceMean', 'mean', 18);
defineReduce('ReduceSum', 'sum', 13);
// On bool, max is "any" and min is "all": reduced as 0/1 integers.
const boolAsInt = (n: OnnxNode, x: Operand) => (typeOf(x).dtype === 'bool' ? n.b.op('cast', [x], { to: 'i32' }) : x);
const backToBool = (n: OnnxNode, y: Operand) => (typeOf(n.input(0)).dtype === 'bool' ? n.b.op('cast', [y], { to: 'bool' }) : y);
defineReduce('ReduceMax', 'max', 18, boolAsInt, backToBool);
defineReduce('ReduceMin', 'min', 18, boolAsInt, backToBool);
defineReduce('ReduceProd', 'prod', 18);
defineReduce('ReduceSumSquare', 'sum', 18, square);
defineReduce('ReduceL1', 'sum', 18, (n, x) => n.b.op('abs', [x]));
defineReduce('ReduceL2', 'sum', 18, square, (n, y) => n.b.op('sqrt', [y]));
defineReduce('ReduceLogSum', 'sum', 18, undefined, (n, y) => n.b.op('log', [y]));

// log(sum(exp(x))) computed as max + log(sum(exp(x - max))), so exp never overflows.
defineOnnxOp('ReduceLogSumExp', (n) => {
  const x = n.input(0);
  const { axes, keepdims, noop } = reduction(n, 18);
  if (noop) return x;
  const m = n.b.op('max', [x], { axes, keepdims: true });
  const s = n.b.op('sum', [n.b.op('exp', [n.b.op('sub', [x, m])])], { axes, keepdims: true });
  const r = n.b.op('add', [n.b.op('log', [s]), m]);
  return keepdims ? r : n.b.op('squeeze', [r], { axes: axes.length ? axes : typeOf(x).shape.map((_, i) => i) });
});

for (const [opType, kilnOp] of [['ArgMax', 'argmax'], ['ArgMin', 'argmin']] as const) {
  defineOnnxOp(opType, (n) => {
    return n.b.op(kilnOp, [n.input(0)], {
      axis: n.attrs.int('axis', 0), keepdims: n.attrs.int('keepdims', 1) !== 0, select_last_index: n.attrs.int('select_last_index', 0) !== 0,
    });
  });
}

/** Hardmax along `axis`: 1 at the first maximum of each run, 0 elsewhere (a one-hot of argmax). */
function hardmax(n: OnnxNode, x: Operand, axis: number): Operand {
  const shape = typeOf(x).shape;
  const a = normalizeAxis(n, axis, shape.length);
  const first = n.b.op('argmax', [x], { axis: a, keepdims: true });
  return castTo(n.b, n.b.op('equal', [first, positionsAlong(n, shape.length, a, shape[a]!)]), typeOf(x).dtype);
}

const NORMALIZERS: Readonly<Record<string, (n: OnnxNode, x: Operand, axis: number) => Operand>> = {
  Softmax: (n, x, axis) => n.b.op('softmax', [x], { axis }),
  LogSoftmax: (n, x, axis) => n.b.op('log_softmax', [x], { axis }),
  Hardmax: hardmax,
};

// Before opset 13, Softmax, LogSoftmax and Hardmax flattened the input to 2-D at `axis`
// (default 1) and normalised each row of the flattened view; from 13 they work along `axis`
// (default -1).
for (const [opType, apply] of Object.entries(NORMALIZERS)) {
  defineOnnxOp(opType, (n) => {
    const x = n.input(0);
    const shape = typeOf(x).shape;
    if (n.opset >= 13) return apply(n, x, n.attrs.int('axis', -1));
    const axis = normalizeAxis(n, n.attrs.int('axis', 1), Math.max(shape.length, 1));
    if (axis === shape.length - 1) return apply(n, x, -1);
    const rows = shape.slice(0, axis).reduce((p, d) => p * d, 1);
    const flat = reshapeTo(n.b, x, [rows, shape.slice(axis).reduce((p, d) => p * d, 1)]);
    return reshapeTo(n.b, apply(n, flat, -1), shape);
  });
}
