import type { Graph, Node, Value } from '../ir/graph.js';
import { tensorData } from '../ir/tensor-data.js';
import { numel, shapesEqual } from '../ir/types.js';
import type { Pass } from './pass.js';
import type { GraphRebuilder } from './rebuild.js';
import { rebuild } from './rebuild.js';
import { attrsOf } from '../ir/attrs.js';
import { gemmAttrs } from '../ir/ops/gemm.js';
import { batchNormAttrs } from '../ir/ops/norm.js';
import { constValue } from '../ir/ops/source.js';
import { conv2dAttrs } from '../ir/ops/conv.js';

/** f32 contents of a constant, or undefined when `v` is not an f32 constant with data. */
function constF32(v: Value | undefined): Float32Array | undefined {
  const t = constValue(v);
  return t?.dtype === 'f32' ? (t.data as Float32Array) : undefined;
}

/** An inference batch_norm as the per-channel affine map y = x * s + t, when its parameters are f32 constants. */
function affineOf(bn: Node): { s: Float32Array; t: Float32Array } | undefined {
  const [scale, beta, mean, variance] = bn.inputs.slice(1).map(constF32);
  if (!scale || !beta || !mean || !variance) return undefined;
  const eps = attrsOf(bn, batchNormAttrs).epsilon;
  const s = scale.map((g, c) => g / Math.sqrt(variance[c]! + eps));
  return { s, t: beta.map((b, c) => b - mean[c]! * s[c]!) };
}

/** A per-column vector of length `c` from a constant of shape [c] or [1, c] (or one value), else undefined. */
function perColumn(v: Value, c: number): Float32Array | undefined {
  const data = constF32(v);
  const shape = v.type.shape;
  if (!data || shape.length > 2 || (shape.length === 2 && shape[0] !== 1)) return undefined;
  if (data.length === c) return data;
  return numel(shape) === 1 ? new Float32Array(c).fill(data[0]!) : undefined;
}

/** `w` with each output channel multiplied by its s: channels are the leading dimension (rows), or the last (columns). */
function scaleChannels(w: Float32Array, s: Float32Array, channelsAreRows: boolean): Float32Array {
  const c = s.length;
  return w.map((x, i) => x * s[channelsAreRows ? Math.floor(i / (w.length / c)) : i % c]!);
}

/**
 * Where output channel of each element of a convolution's weight is: conv2d's [O, C/groups, KH, KW]
 * leads with it; conv_transpose2d's [C, O/groups, KH, KW] has input channels first, so element
 * [ci, j, ...] feeds output channel (ci's group) * O/groups + j.
 */
const CONV_OUT_CHANNEL: Readonly<Record<string, (w: readonly number[], groups: number) => (i: number) => number>> = {
  conv2d: ([, cg, kh, kw]) => (i) => Math.floor(i / (cg! * kh! * kw!)),
  conv_transpose2d: ([cin, og, kh, kw], groups) => {
    const kk = kh! * kw!;
    const cg = cin! / groups;
    return (i) => Math.floor(Math.floor(i / (og! * kk)) / cg) * og! + (Math.floor(i / kk) % og!);
  },
};

/**
 * A vector of length `c`, one value per channel of an NCHW result, from a constant broadcasting
 * along channels only ([1, C, 1, 1], [C, 1, 1], or one value), else undefined.
 */
function perChannel(v: Value, c: number): Float32Array | undefined {
  const data = constF32(v);
  const shape = v.type.shape;
  if (!data || shape.length > 4) return undefined;
  if (numel(shape) === 1) return new Float32Array(c).fill(data[0]!);
  const padded = [...Array(4 - shape.length).fill(1), ...shape];
  return padded.every((d, i) => d === (i === 1 ? c : 1)) ? data : undefined;
}

/**
 * The per-channel affine map y = x * s + t that `n` applies to its operand `k` (a conv's
 * [N, C, H, W] result with `c` channels), when it is one: an inference batch_norm, or an add or
 * mul of a per-channel constant that leaves the type unchanged.
 */
function channelAffine(n: Node, k: number, c: number): Affine | undefined {
  if (n.op === 'batch_norm') return k === 0 ? affineOf(n) : undefined;
  if ((n.op !== 'add' && n.op !== 'mul') || n.inputs.length !== 2) return undefined;
  const x = n.inputs[k]!;
  const v = perChannel(n.inputs[1 - k]!, c);
  if (!v || !shapesEqual(n.output.type.shape, x.type.shape) || n.output.type.dtype !== x.type.dtype) return undefined;
  return n.op === 'add' ? { s: new Float32Array(c).fill(1), t: v } : { s: v, t: new Float32Array(c) };
}

/**
 * Folds per-channel affine maps into the linear op feeding them, whose result nothing else reads:
 * - conv2d and conv_transpose2d: an inference batch_norm, or an add or mul of a per-channel
 *   constant (a bias add), becomes weights w * s per output channel and bias b * s + t; a chain
 *   of them (conv, bias add, batch_norm) folds link by link, each into the conv the last made;
 * - an inference batch_norm after a matmul [N, K] x [K, C], with or without a per-column bias
 *   add after it: columns of the weight times s, then one add of b * s + t (which fusion puts
 *   in the matmul's epilogue);
 * - an inference batch_norm after a gemm: columns of op(B) times s, C becomes
 *   (beta * C + b) * s + t with beta = 1.
 * Here s = scale / sqrt(var + eps) and t = beta - mean * s for a batch_norm. Weights (unless s
 * is all ones) and biases must be f32 constants; batch_norm's channels are dimension 1, which
 * for a matrix product's [N, C] result are its columns.
 */
export const foldBatchNorm: Pass = {
  name: 'fold-batchnorm',
  description: 'fold batch_norm into the preceding conv2d, conv_transpose2d, matmul or gemm, and per-channel bias adds into convolutions',
  run(g: Graph): Graph {
    const users = g.users();
    const outputs = new Set(g.outputs);
    const onlyFeeds = (v: Value, reader: Node) => users.get(v)?.length === 1 && users.get(v)![0] === reader && !outputs.has(v);
    let changed = false;
    const out = rebuild(g, (node, b) => {
      const folded = foldIntoConv(node, b, onlyFeeds) ?? foldIntoProduct(node, b, onlyFeeds);
      if (!folded) return false;
      b.replace(node.output, folded);
      changed = true;
      return true;
    });
    return changed ? out : g;
  },
};

type Affine = { s: Float32Array; t: Float32Array };
type OnlyFeeds = (v: Value, reader: Node) => boolean;
const constant = (b: GraphRebuilder, like: Value, shape: readonly number[], data: Float32Array) =>
  b.add('const', [], { value: tensorData('f32', shape, data) }, like.type.device).output;

// The conv is looked up in the graph being built, so that a fold into a conv made by an earlier
// fold (a bias add, then a batch_norm) composes; the intermediate's readers are those of the
// original graph. The folded conv takes the affine node's place (and name), and dce removes the
// now unread conv it replaces.
function foldIntoConv(node: Node, b: GraphRebuilder, onlyFeeds: OnlyFeeds): Value | undefined {
  for (const [k, x] of node.inputs.entries()) {
    const conv = b.get(x).producer;
    const outChannel = conv && CONV_OUT_CHANNEL[conv.op];
    if (!conv || !outChannel || !onlyFeeds(x, node)) continue;
    const c = conv.output.type.shape[1]!;
    const affine = channelAffine(node, k, c);
    if (!affine) continue;
    const { s, t } = affine;
    const [input, weight, oldBias] = conv.inputs as [Value, Value, Value?];
    const bias = oldBias ? constF32(oldBias) : new Float32Array(c);
    const w = constF32(weight);
    const unscaled = s.every((v) => v === 1);
    if (!bias || (!w && !unscaled)) return undefined;
    const channelOf = outChannel(weight.type.shape, attrsOf(conv, conv2dAttrs).groups);
    const w2 = unscaled ? weight : constant(b, conv.output, weight.type.shape, w!.map((v, i) => v * s[channelOf(i)]!));
    const b2 = constant(b, conv.output, [c], bias.map((v, o) => v * s[o]! + t[o]!));
    return b.add(conv.op, [input, w2, b2], conv.attrs, conv.output.type.device, [node.output.name]).output;
  }
  return undefined;
}

// The product and its bias add precede the batch_norm and were copied already; dce removes them.
function foldIntoProduct(bn: Node, b: GraphRebuilder, onlyFeeds: OnlyFeeds): Value | undefined {
  if (bn.op !== 'batch_norm') return undefined;
  const x = bn.inputs[0]!;
  const producer = x.producer;
  const affine = affineOf(bn);
  if (!affine || !producer || !onlyFeeds(x, bn) || bn.output.type.shape.length !== 2) return undefined;
  const { s, t } = affine;
  const c = s.length;
  // An add of a per-column constant between the product and the batch_norm folds too.
  let product = producer;
  let bias: Float32Array = new Float32Array(c);
  if (producer.op === 'add') {
    const k = producer.inputs.findIndex((v) => perColumn(v, c) !== undefined);
    const other = producer.inputs[1 - k];
    if (k < 0 || !other?.producer || !onlyFeeds(other, producer) || other.type.shape.length !== 2) return undefined;
    bias = perColumn(producer.inputs[k]!, c)!;
    product = other.producer;
  }
  const dev = bn.output.type.device;
  const name = [bn.output.name];
  if (product.op === 'matmul') {
    const w = constF32(product.inputs[1]);
    if (!w || product.inputs[1]!.type.shape.length !== 2) return undefined;
    const w2 = constant(b, bn.output, product.inputs[1]!.type.shape, scaleChannels(w, s, false));
    const mm = b.add('matmul', [b.get(product.inputs[0]!), w2], product.attrs, dev).output;
    return b.add('add', [mm, constant(b, bn.output, [c], bias.map((v, i) => v * s[i]! + t[i]!))], {}, dev, name).output;
  }
  if (product.op === 'gemm') {
    const w = constF32(product.inputs[1]);
    const { beta, trans_b: transB } = attrsOf(product, gemmAttrs);
    const cIn = product.inputs[2] ? perColumn(product.inputs[2], c) : new Float32Array(c);
    if (!w || !cIn) return undefined;
    const w2 = constant(b, bn.output, product.inputs[1]!.type.shape, scaleChannels(w, s, transB));
    const c2 = constant(b, bn.output, [c], cIn.map((v, i) => (beta * v + bias[i]!) * s[i]! + t[i]!));
    return b.add('gemm', [b.get(product.inputs[0]!), w2, c2], { ...product.attrs, beta: 1 }, dev, name).output;
  }
  return undefined;
}
