// LpNormalization, LpPool and LRN: sums of powers over an axis or a window, decomposed into
// reductions, convolutions with a window of ones (exact sums, with padding, strides and
// dilations for free) and elementwise ops.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { windowSums3d } from './conv3d.js';
import { as2d, from2d, readWindow, readWindowNd, spatialRank } from './window-params.js';
import { reshapeTo, scalarLike } from './helpers.js';

/** |x|^p, written as x*x and |x| for the common p = 2 and p = 1 (exact, no pow). */
function absPow(n: OnnxNode, x: Operand, p: number): Operand {
  if (p === 2) return n.b.op('mul', [x, x]);
  const a = n.b.op('abs', [x]);
  return p === 1 ? a : n.b.op('pow', [a, scalarLike(n.b, x, p)]);
}

/** s^(1/p), the inverse of absPow for s >= 0. */
function root(n: OnnxNode, s: Operand, p: number): Operand {
  if (p === 2) return n.b.op('sqrt', [s]);
  return p === 1 ? s : n.b.op('pow', [s, scalarLike(n.b, s, 1 / p)]);
}

function readP(n: OnnxNode, dflt: number): number {
  const p = n.attrs.int('p', dflt);
  if (p <= 0) n.fail(`p must be positive, got ${p}`);
  return p;
}

// Y = X / ||X||_p along `axis` (ONNX allows p = 1 or 2); a zero vector stays zero (it is
// divided by 1 instead of its zero norm).
defineOnnxOp('LpNormalization', (n) => {
  const x = n.input(0);
  const p = readP(n, 2);
  if (p !== 1 && p !== 2) n.fail(`p must be 1 or 2, got ${p}`);
  const norm = root(n, n.b.op('sum', [absPow(n, x, p)], { axes: [n.attrs.int('axis', -1)], keepdims: true }), p);
  const zero = n.b.op('equal', [norm, scalarLike(n.b, norm, 0)]);
  return n.b.op('div', [x, n.b.op('where', [zero, scalarLike(n.b, norm, 1), norm])]);
});

// Y = (sum over the window of |X|^p)^(1/p); padded positions add 0 to the sum.
defineOnnxOp('LpPool', (n) => {
  const x = n.input(0);
  const spatial = spatialRank(n, x);
  const kernel = n.attrs.ints('kernel_shape');
  if (!kernel || kernel.length !== spatial) return n.fail(`needs kernel_shape with ${spatial} values`);
  if (n.attrs.int('ceil_mode', 0) !== 0) n.unsupported('ceil_mode=1 is not supported');
  const p = readP(n, 2);
  if (spatial === 3) return root(n, windowSums3d(n, absPow(n, x, p), readWindowNd(n, typeOf(x).shape.slice(2), kernel)), p);
  const win = readWindow(n, typeOf(x).shape.slice(2), kernel);
  const channels = typeOf(x).shape[1]!;
  const ones = n.b.scalar(typeOf(x).dtype, 1, [channels, 1, win.kernel[0]!, win.kernel[1]!]);
  const sums = n.b.op('conv2d', [as2d(n, absPow(n, x, p)), ones], {
    stride: win.stride, padding: win.padding, dilation: win.dilation, groups: channels,
  });
  return from2d(n, root(n, sums, p), spatial);
});

// Y = X / (bias + alpha / size * S)^beta, S the sum of X^2 over the `size` channels around
// each one (floor((size-1)/2) before, ceil((size-1)/2) after): a convolution of X^2 seen as
// [N, 1, C, rest] with a [size, 1] window of ones.
defineOnnxOp('LRN', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  if (shape.length < 2) n.fail(`needs an input [N, C, ...], got rank ${shape.length}`);
  const size = n.attrs.int('size', 0);
  if (size <= 0) n.fail(`size must be positive, got ${size}`);
  const rest = shape.slice(2).reduce((a, d) => a * d, 1);
  const squares = reshapeTo(n.b, n.b.op('mul', [x, x]), [shape[0]!, 1, shape[1]!, rest]);
  const ones = n.b.scalar(typeOf(x).dtype, 1, [1, 1, size, 1]);
  const before = Math.floor((size - 1) / 2);
  const sums = n.b.op('conv2d', [squares, ones], { stride: [1, 1], padding: [before, 0, size - 1 - before, 0], dilation: [1, 1], groups: 1 });
  const alpha = n.attrs.float('alpha', 1e-4);
  const scaled = n.b.op('mul', [reshapeTo(n.b, sums, shape), scalarLike(n.b, x, alpha / size)]);
  const base = n.b.op('add', [scaled, scalarLike(n.b, x, n.attrs.float('bias', 1))]);
  return n.b.op('div', [x, n.b.op('pow', [base, scalarLike(n.b, x, n.attrs.float('beta', 0.75))])]);
});
