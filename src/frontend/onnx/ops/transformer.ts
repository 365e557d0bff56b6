// Transformer building blocks other than attention: RotaryEmbedding (opset 23), SwiGLU and
// CausalConvWithState, decomposed into gathers, slices, convolutions and elementwise ops.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { castTo, reshapeTo, reshapeToDims, scalarLike } from './helpers.js';
import { dimText } from '../../../ir/size-expr.js';
import { dimsOf } from '../../../ir/types.js';

/** x[..., start:end] along the last axis. */
function lastSlice(n: OnnxNode, x: Operand, start: number, end: number): Operand {
  return n.b.op('slice', [x], { starts: [start], ends: [end], axes: [-1] });
}

// Rotates pairs of features by position-dependent angles: for each pair (x1, x2) and the
// angle's cos c and sin s, (c x1 - s x2, s x1 + c x2). Pairs are the two halves of the first
// rotary_embedding_dim features, or adjacent features when `interleaved`; the rest pass
// through. A 4-D input is [B, H, S, D], a 3-D one [B, S, H * D]; the caches are
// [max_position, rot / 2] indexed by position_ids [B, S], or already [B, S, rot / 2].
defineOnnxOp('RotaryEmbedding', (n) => rotaryEmbedding(n, n.input(0), n.input(1), n.input(2), n.optional(3), {
  heads: n.attrs.int('num_heads', 0),
  rotaryDim: n.attrs.int('rotary_embedding_dim', 0),
  interleaved: n.attrs.int('interleaved', 0) !== 0,
}));

/** How a rotary embedding rotates: the heads of a 3-D input, the features rotated (0: all), the pairing. */
export interface RotaryOptions {
  readonly heads: number;
  readonly rotaryDim: number;
  readonly interleaved: boolean;
}

/**
 * x rotated by the cos and sin caches, indexed by `positions` [B, S] (or [1, S]) when given;
 * shared by ONNX's RotaryEmbedding and ONNX Runtime's.
 */
export function rotaryEmbedding(n: OnnxNode, x: Operand, cosCache: Operand, sinCache: Operand, positions: Operand | undefined, opts: RotaryOptions): Operand {
  // Shapes read with dimsOf: the batch and sequence extents may vary from run to run.
  const shape = dimsOf(typeOf(x));
  if (shape.length !== 3 && shape.length !== 4) n.fail(`needs a 3-D or 4-D input, got rank ${shape.length}`);
  // Work in [B, H, S, D] or [B, S, H, D]; the caches become [B, 1, S, rot/2] or [B, S, 1, rot/2].
  let xs = x;
  let headAxis = 1;
  if (shape.length === 3) {
    const heads = opts.heads;
    const hidden = shape[2]!;
    if (heads <= 0 || typeof hidden !== 'number' || hidden % heads !== 0) n.fail(`num_heads ${heads} must divide the hidden size ${dimText(hidden)} of a 3-D input`);
    xs = reshapeToDims(n, x, [shape[0]!, shape[1]!, heads, hidden / heads]);
    headAxis = 2;
  }
  const headSize = typeOf(xs).shape[3]!;
  const rot = opts.rotaryDim || headSize;
  if (rot % 2 !== 0 || rot > headSize) n.fail(`rotary_embedding_dim ${rot} must be even and at most the head size ${headSize}`);
  const half = rot / 2;
  const cache = (c0: Operand, what: string): Operand => {
    const c = castTo(n.b, c0, typeOf(x).dtype);
    const perPosition = positions ? n.b.op('gather', [c, castTo(n.b, positions, 'i32')], { axis: 0 }) : c;
    if (typeOf(perPosition).shape.at(-1) !== half) n.fail(`${what}'s last dimension must be rotary_embedding_dim / 2 = ${half}`);
    return n.b.op('unsqueeze', [perPosition], { axes: [headAxis] });
  };
  const [cos, sin] = [cache(cosCache, 'cos_cache'), cache(sinCache, 'sin_cache')];
  const rotated = lastSlice(n, xs, 0, rot);
  let out: Operand;
  if (opts.interleaved) {
    // Adjacent pairs: view [..., rot] as [..., rot/2, 2].
    const pairs = reshapeToDims(n, rotated, [...dimsOf(typeOf(rotated)).slice(0, -1), half, 2]);
    const [x1, x2] = [lastSlice(n, pairs, 0, 1), lastSlice(n, pairs, 1, 2)];
    const [c, s] = [n.b.op('unsqueeze', [cos], { axes: [-1] }), n.b.op('unsqueeze', [sin], { axes: [-1] })];
    const { real, imag } = rotate(n, x1, x2, c, s);
    out = reshapeToDims(n, n.b.op('concat', [real, imag], { axis: -1 }), dimsOf(typeOf(rotated)));
  } else {
    const { real, imag } = rotate(n, lastSlice(n, rotated, 0, half), lastSlice(n, rotated, half, rot), cos, sin);
    out = n.b.op('concat', [real, imag], { axis: -1 });
  }
  if (rot < headSize) out = n.b.op('concat', [out, lastSlice(n, xs, rot, headSize)], { axis: -1 });
  return reshapeToDims(n, out, shape);
}

function rotate(n: OnnxNode, x1: Operand, x2: Operand, cos: Operand, sin: Operand): { real: Operand; imag: Operand } {
  const mul = (a: Operand, b: Operand) => n.b.op('mul', [a, b]);
  return {
    real: n.b.op('sub', [mul(cos, x1), mul(sin, x2)]),
    imag: n.b.op('add', [mul(sin, x1), mul(cos, x2)]),
  };
}

// SwiGLU(a, b) = a * sigmoid(alpha * a) * b.
defineOnnxOp('SwiGLU', (n) => {
  const [a, b] = [n.input(0), n.input(1)];
  const alpha = n.attrs.float('alpha', 1);
  const gate = n.b.op('sigmoid', [alpha === 1 ? a : n.b.op('mul', [a, scalarLike(n.b, a, alpha)])]);
  return n.b.op('mul', [n.b.op('mul', [a, gate]), b]);
});

// CausalConvWithState: a depthwise 1-D convolution that sees only the past, for streaming:
// the input [B, C, L] is prefixed with past_state [B, C, k-1] (zeros when absent), convolved
// without padding, optionally followed by SiLU (computed in f32, as ONNX specifies), and the
// last k-1 positions of the prefixed input are the next call's state.
defineOnnxOp('CausalConvWithState', (n) => {
  const x = n.input(0);
  const w = n.input(1);
  const [batch, channels, length] = typeOf(x).shape as [number, number, number];
  if (typeOf(x).shape.length !== 3) n.fail(`needs an input [B, C, L], got rank ${typeOf(x).shape.length}`);
  const ws = typeOf(w).shape;
  if (ws.length !== 3 || ws[0] !== channels || ws[1] !== 1) n.fail(`weight must be [${channels}, 1, k], got [${ws.join(',')}]`);
  const k = ws[2]!;
  const activation = n.attrs.string('activation', 'none');
  if (!['none', 'silu', 'swish'].includes(activation)) n.unsupported(`activation '${activation}' is not supported (none, silu and swish are)`);
  const dtype = typeOf(x).dtype;
  const past = n.optional(3) ?? n.b.scalar(dtype, 0, [batch, channels, k - 1]);
  const padded = k > 1 ? n.b.op('concat', [castTo(n.b, past, dtype), x], { axis: 2 }) : x;
  const bias = n.optional(2);
  const w2 = reshapeTo(n.b, castTo(n.b, w, dtype), [channels, 1, 1, k]);
  const conv = n.b.op('conv2d', [reshapeTo(n.b, padded, [batch, channels, 1, length + k - 1]), w2, ...(bias ? [castTo(n.b, bias, dtype)] : [])], {
    stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: channels,
  });
  let y = reshapeTo(n.b, conv, [batch, channels, length]);
  if (activation !== 'none') y = castTo(n.b, n.b.op('silu', [castTo(n.b, y, 'f32')]), dtype);
  const state = n.outputUsed(1) ? lastSlice(n, padded, length, length + k - 1) : undefined;
  return [y, state];
});
