import type { Value } from '../../ir/graph.js';
import type { OpTable } from '../../ir/ops/index.js';
import { conv2dGeometry } from '../../ir/ops/conv.js';
import { adaptiveBin, poolGeometry } from '../../ir/ops/pool.js';
import type { GradContext, GradRule } from './grad-context.js';

// Gradient rules of the layers a CNN trains through (convolutions, pooling, gemm), of the
// backward ops those rules emit (second derivatives), and of the selecting elementwise ops
// (where, maximum, minimum, abs, clip, cast); rules.ts lists this table.

/**
 * Bottom/right padding and output_padding of the conv_transpose2d that maps a window op's
 * output grid back onto an input axis of extent `size` (its "before" padding is the forward
 * one's): the transposed extent (out-1)*stride - before - after + span + extra must be `size`.
 * A forward pass that dropped trailing input (floor mode) needs extra < stride; ceil mode's
 * overhang is cropped by a larger `after`.
 */
function transposeFit(size: number, out: number, stride: number, before: number, span: number): { after: number; extra: number } {
  const base = (out - 1) * stride - before + span - size;
  return base >= 0 ? { after: base, extra: 0 } : { after: 0, extra: -base };
}

type ConvAttrs = { stride: number[]; padding: number[]; dilation: number[]; groups: number };

/** The attributes of a conv2d-like node, read (so declared handled). */
const convAttrs = (c: GradContext): ConvAttrs => ({ stride: c.attr('stride'), padding: c.attr('padding'), dilation: c.attr('dilation'), groups: c.attr('groups') });

/** d<dy, conv2d(x, w)>/dx: the transposed convolution of dy with the same weights, cut or padded to x's extent. */
function convInputGradient(c: GradContext, x: Value, w: Value, dy: Value, attrs: ConvAttrs): Value {
  const g = conv2dGeometry(x.type.shape, w.type.shape, attrs);
  const fh = transposeFit(g.inH, g.outH, g.strideH, g.padTop, g.dilationH * (g.kernelH - 1) + 1);
  const fw = transposeFit(g.inW, g.outW, g.strideW, g.padLeft, g.dilationW * (g.kernelW - 1) + 1);
  return c.emit('conv_transpose2d', [dy, w], {
    stride: attrs.stride, dilation: attrs.dilation, groups: attrs.groups,
    padding: [g.padTop, g.padLeft, fh.after, fw.after], output_padding: [fh.extra, fw.extra],
  });
}

const conv2d: GradRule = (c) => {
  const [x, w, bias] = c.inputs as [Value, Value, Value | undefined];
  const attrs = convAttrs(c);
  const dx = convInputGradient(c, x, w, c.dy, attrs);
  const dw = c.emit('conv2d_backward_weight', [x, c.dy], { kernel_size: w.type.shape.slice(2), ...attrs });
  const db = bias ? c.emit('sum', [c.dy], { axes: [0, 2, 3], keepdims: false }) : undefined;
  return [dx, dw, db];
};

/**
 * conv2d_backward_weight(x, dy) is d<dy, conv2d(x, w)>/dw, bilinear in x and dy, so for a
 * gradient G of its result <G, result> = <dy, conv2d(x, G)>: d/dx is conv2d's input gradient
 * with weights G, d/d(dy) is conv2d(x, G). (Second derivatives of a convolution.)
 */
const conv2dBackwardWeight: GradRule = (c) => {
  const [x, dy] = c.inputs as [Value, Value];
  const attrs = convAttrs(c);
  c.attr('kernel_size'); // the result's shape
  return [convInputGradient(c, x, c.dy, dy, attrs), c.emit('conv2d', [x, c.dy], attrs)];
};

/**
 * conv_transpose2d is the adjoint of conv2d in its input: dx = conv2d(dy, w) with the same
 * attributes (its weight layout [C, O/groups, KH, KW] is that conv2d's), and dw is that
 * conv2d's weight gradient with dy as input and x as output gradient. output_padding adds rows
 * that conv2d's floor division drops again while it stays below the stride; a larger one (the
 * dilation allows it) makes that conv2d's grid a little larger than x: dx is cropped to x, and
 * x is padded with zeros to the grid for dw.
 */
const convTranspose2d: GradRule = (c) => {
  const [x, w, bias] = c.inputs as [Value, Value, Value | undefined];
  const attrs = convAttrs(c);
  c.attr('output_padding'); // in dy's shape
  const g = conv2dGeometry(c.dy.type.shape, w.type.shape, attrs);
  const [, , h, wd] = x.type.shape as [number, number, number, number];
  const [extraH, extraW] = [g.outH - h, g.outW - wd];
  const full = c.emit('conv2d', [c.dy, w], attrs);
  const dx = extraH || extraW ? c.emit('slice', [full], { starts: [0, 0], ends: [h, wd], axes: [2, 3] }) : full;
  const grid = extraH || extraW ? c.emit('pad', [x], { pads: [0, 0, 0, 0, 0, 0, extraH, extraW] }) : x;
  const dw = c.emit('conv2d_backward_weight', [c.dy, grid], { kernel_size: w.type.shape.slice(2), ...attrs });
  const db = bias ? c.emit('sum', [c.dy], { axes: [0, 2, 3], keepdims: false }) : undefined;
  return [dx, dw, db];
};

const maxPool2d: GradRule = (c) => {
  const attrs = Object.fromEntries(['kernel_size', 'stride', 'padding', 'ceil_mode', 'dilation'].map((k) => [k, c.attr(k)]));
  return [c.emit('max_pool2d_backward', [c.inputs[0]!, c.dy], attrs)];
};

/**
 * max_pool2d_backward(x, dy) sends each dy to its window's winner (the first maximum), so it is
 * linear in dy with adjoint G -> G at each window's winner; in x it is piecewise constant (zero
 * gradient). The winner is found tap by tap, in the kernel's row-major window order: the first
 * valid tap equal to the window's maximum. (A window holding NaN has no winner here: zeros.)
 */
const maxPool2dBackward: GradRule = (c) => {
  const [x] = c.inputs as [Value, Value];
  const attrs = Object.fromEntries(['kernel_size', 'stride', 'padding', 'ceil_mode', 'dilation'].map((k) => [k, c.attr(k)]));
  const g = poolGeometry(x.type.shape, attrs);
  const best = c.emit('max_pool2d', [x], attrs);
  const reach = (a: typeof g.h, size: number, out: number) => Math.max(0, (out - 1) * a.stride + (a.kernel - 1) * a.dilation + 1 - size - a.padBefore);
  const pads = [0, 0, g.h.padBefore, g.w.padBefore, 0, 0, reach(g.h, g.inH, g.outH), reach(g.w, g.inW, g.outW)];
  const [xp, gp] = [x, c.dy].map((v) => c.emit('pad', [v], { pads }));
  let found: Value | undefined;
  let result: Value = c.zeros(best.type.shape, x);
  for (let kh = 0; kh < g.h.kernel; kh++) {
    for (let kw = 0; kw < g.w.kernel; kw++) {
      const [sh, sw] = [kh * g.h.dilation, kw * g.w.dilation];
      const tap = (v: Value) => c.emit('slice', [v], { starts: [sh, sw], ends: [sh + (g.outH - 1) * g.h.stride + 1, sw + (g.outW - 1) * g.w.stride + 1], axes: [2, 3], steps: [g.h.stride, g.w.stride] });
      const valid = Array.from({ length: g.outH * g.outW }, (_, k) => {
        const ih = Math.floor(k / g.outW) * g.h.stride - g.h.padBefore + sh;
        const iw = (k % g.outW) * g.w.stride - g.w.padBefore + sw;
        return ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW ? 1 : 0;
      });
      let hit = c.emit('logical_and', [c.constant([g.outH, g.outW], valid, x, 'bool'), c.emit('equal', [tap(xp), best])]);
      if (found) hit = c.emit('logical_and', [hit, c.emit('logical_not', [found])]);
      result = c.emit('where', [hit, tap(gp), result]);
      found = found ? c.emit('logical_or', [found, hit]) : hit;
    }
  }
  return [undefined, result];
};

/**
 * avg_pool2d is linear: dx spreads each dy / (its window's divisor) over the window, which is a
 * depthwise conv_transpose2d with a kernel of ones. Divisors depend only on the (static)
 * geometry, so they are a constant.
 */
const avgPool2d: GradRule = (c) => {
  const x = c.inputs[0]!;
  const g = poolGeometry(x.type.shape, Object.fromEntries(['kernel_size', 'stride', 'padding', 'ceil_mode'].map((k) => [k, c.attr(k)])));
  const includePad = c.attr<boolean>('count_include_pad');
  const divisors = (n: number, size: number, a: typeof g.h) => Array.from({ length: n }, (_, o) => {
    const start = o * a.stride - a.padBefore;
    const end = Math.min(start + a.kernel, size + a.padAfter);
    return includePad ? end - start : Math.min(end, size) - Math.max(start, 0);
  });
  const dh = divisors(g.outH, g.inH, g.h);
  const dw = divisors(g.outW, g.inW, g.w);
  const inv = dh.flatMap((a) => dw.map((b) => 1 / (a * b)));
  const scaled = c.emit('mul', [c.dy, c.constant([1, 1, g.outH, g.outW], inv, x)]);
  const ones = c.constant([g.channels, 1, g.h.kernel, g.w.kernel], new Array(g.channels * g.h.kernel * g.w.kernel).fill(1), x);
  const fh = transposeFit(g.inH, g.outH, g.h.stride, g.h.padBefore, g.h.kernel);
  const fw = transposeFit(g.inW, g.outW, g.w.stride, g.w.padBefore, g.w.kernel);
  return [c.emit('conv_transpose2d', [scaled, ones], {
    stride: [g.h.stride, g.w.stride], groups: g.channels,
    padding: [g.h.padBefore, g.w.padBefore, fh.after, fw.after], output_padding: [fh.extra, fw.extra],
  })];
};

const globalAvgPool: GradRule = (c) => {
  const x = c.inputs[0]!;
  const count = x.type.shape.slice(2).reduce((a, b) => a * b, 1);
  return [c.emit('expand', [c.emit('div', [c.dy, c.scalar(count, c.dy)])], { shape: [...x.type.shape] })];
};

/** adaptive_avg_pool2d is y = Ph x Pw^T per plane (Ph [OH,H] averages rows into bins), so dx = Ph^T dy Pw. */
const adaptiveAvgPool2d: GradRule = (c) => {
  const x = c.inputs[0]!;
  const [, , h, w] = x.type.shape as [number, number, number, number];
  const [oh, ow] = c.attr<number[]>('output_size') as [number, number];
  const binMatrix = (out: number, size: number, transposed: boolean) => {
    const m = new Array<number>(out * size).fill(0);
    for (let i = 0; i < out; i++) {
      const [a, b] = adaptiveBin(i, size, out);
      for (let j = a; j < b; j++) m[transposed ? j * out + i : i * size + j] = 1 / (b - a);
    }
    return m;
  };
  const rows = c.emit('matmul', [c.dy, c.constant([ow, w], binMatrix(ow, w, false), x)]);
  return [c.emit('matmul', [c.constant([h, oh], binMatrix(oh, h, true), x), rows])];
};

/** Y = alpha op(A) op(B) + beta C; each operand's gradient is again a gemm with flipped transposes. */
const gemm: GradRule = (c) => {
  const [a, b, cc] = c.inputs as [Value, Value, Value | undefined];
  const ta = c.attr<boolean>('trans_a');
  const tb = c.attr<boolean>('trans_b');
  const alpha = c.attr<number>('alpha');
  const da = ta
    ? c.emit('gemm', [b, c.dy], { trans_a: tb, trans_b: true, alpha, beta: 0 })
    : c.emit('gemm', [c.dy, b], { trans_a: false, trans_b: !tb, alpha, beta: 0 });
  const db = tb
    ? c.emit('gemm', [c.dy, a], { trans_a: true, trans_b: ta, alpha, beta: 0 })
    : c.emit('gemm', [a, c.dy], { trans_a: !ta, trans_b: false, alpha, beta: 0 });
  const beta = c.attr<number>('beta');
  const dc = cc ? c.unbroadcast(beta === 1 ? c.dy : c.emit('mul', [c.dy, c.scalar(beta, c.dy)]), cc.type.shape) : undefined;
  return [da, db, dc];
};

const where: GradRule = (c) => {
  const [cond, a, b] = c.inputs as [Value, Value, Value];
  const zero = c.scalar(0, c.dy);
  return [
    undefined,
    c.unbroadcast(c.emit('where', [cond, c.dy, zero]), a.type.shape),
    c.unbroadcast(c.emit('where', [cond, zero, c.dy]), b.type.shape),
  ];
};

/** maximum/minimum: the gradient goes to the selected operand; ties split it evenly (as PyTorch). */
function selecting(wins: 'greater' | 'less'): GradRule {
  return (c) => {
    const [a, b] = c.inputs as [Value, Value];
    const half = c.emit('mul', [c.dy, c.scalar(0.5, c.dy)]);
    const tie = c.emit('where', [c.emit('equal', [a, b]), half, c.scalar(0, c.dy)]);
    const da = c.emit('where', [c.emit(wins, [a, b]), c.dy, tie]);
    return [c.unbroadcast(da, a.type.shape), c.unbroadcast(c.emit('sub', [c.dy, da]), b.type.shape)];
  };
}

const abs: GradRule = (c) => {
  const x = c.inputs[0]!;
  const zero = c.scalar(0, x);
  const neg = c.emit('where', [c.emit('less', [x, zero]), c.emit('neg', [c.dy]), zero]);
  return [c.emit('where', [c.emit('greater', [x, zero]), c.dy, neg])];
};

/** clip passes the gradient where the input lies within [min, max] (bounds included, as PyTorch's clamp). */
const clip: GradRule = (c) => {
  const x = c.inputs[0]!;
  let dx = c.dy;
  const zero = c.scalar(0, c.dy);
  const min = c.attr<number | undefined>('min');
  const max = c.attr<number | undefined>('max');
  if (min !== undefined) dx = c.emit('where', [c.emit('greater_equal', [x, c.scalar(min, x)]), dx, zero]);
  if (max !== undefined) dx = c.emit('where', [c.emit('less_equal', [x, c.scalar(max, x)]), dx, zero]);
  return [dx];
};

/**
 * A float-to-float cast passes the gradient back in the operand's dtype (straight through its
 * rounding, whatever the format, saturation or rounding mode, as PyTorch's); other casts have none.
 */
const cast: GradRule = (c) => {
  const x = c.inputs[0]!;
  for (const k of ['to', 'format', 'saturate', 'round_mode']) c.attr(k);
  if (x.type.dtype !== 'f32' && x.type.dtype !== 'f16') return [undefined];
  return [x.type.dtype === c.dy.type.dtype ? c.dy : c.emit('cast', [c.dy], { to: x.type.dtype })];
};

export const nnGradRules: OpTable<GradRule> = {
  conv2d,
  conv_transpose2d: convTranspose2d,
  conv2d_backward_weight: conv2dBackwardWeight,
  max_pool2d_backward: maxPool2dBackward,
  max_pool2d: maxPool2d,
  avg_pool2d: avgPool2d,
  global_avg_pool: globalAvgPool,
  adaptive_avg_pool2d: adaptiveAvgPool2d,
  gemm,
  where,
  maximum: selecting('greater'),
  minimum: selecting('less'),
  abs,
  clip,
  cast,
};
