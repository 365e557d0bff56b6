import type { Graph, Node, Value } from '../ir/graph.js';
import { tensorData } from '../ir/tensor-data.js';
import { numel } from '../ir/types.js';
import type { Pass } from './pass.js';
import type { GraphRebuilder } from './rebuild.js';
import { rebuild } from './rebuild.js';
import { attrsOf } from '../ir/attrs.js';
import { gemmAttrs } from '../ir/ops/gemm.js';
import { batchNormAttrs } from '../ir/ops/norm.js';
import { constValue } from '../ir/ops/source.js';

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
 * Folds an inference batch_norm into the linear op feeding it, whose result nothing else reads:
 * with s = scale / sqrt(var + eps) and t = beta - mean * s per channel,
 * - conv2d: weights w * s per output channel, bias b * s + t;
 * - matmul [N, K] x [K, C], with or without a per-column bias add after it: columns of the
 *   weight times s, then one add of b * s + t (which fusion puts in the matmul's epilogue);
 * - gemm: columns of op(B) times s, C becomes (beta * C + b) * s + t with beta = 1.
 * Weights and biases must be f32 constants; batch_norm's channels are dimension 1, which for a
 * matrix product's [N, C] result are its columns.
 */
export const foldBatchNorm: Pass = {
  name: 'fold-batchnorm',
  description: 'fold batch_norm into the preceding conv2d, matmul or gemm',
  run(g: Graph): Graph {
    const users = g.users();
    const outputs = new Set(g.outputs);
    const onlyFeeds = (v: Value, reader: Node) => users.get(v)?.length === 1 && users.get(v)![0] === reader && !outputs.has(v);
    let changed = false;
    const out = rebuild(g, (node, b) => {
      if (node.op !== 'batch_norm') return false;
      const affine = affineOf(node);
      const x = node.inputs[0]!;
      if (!affine || !x.producer || !onlyFeeds(x, node)) return false;
      const folded = x.producer.op === 'conv2d'
        ? foldIntoConv(x.producer, affine, b, node)
        : foldIntoProduct(x.producer, affine, b, node, onlyFeeds);
      if (!folded) return false;
      b.replace(node.output, folded);
      changed = true;
      return true;
    });
    return changed ? out : g;
  },
};

type Affine = { s: Float32Array; t: Float32Array };
const constant = (b: GraphRebuilder, like: Value, shape: readonly number[], data: Float32Array) =>
  b.add('const', [], { value: tensorData('f32', shape, data) }, like.type.device).output;

// The producer precedes the batch_norm and was copied already: the folded op takes the
// batch_norm's place (and name), and dce removes the now unread original.
function foldIntoConv(conv: Node, { s, t }: Affine, b: GraphRebuilder, bn: Node): Value | undefined {
  const w = constF32(conv.inputs[1]);
  const bias = conv.inputs[2] ? constF32(conv.inputs[2]) : new Float32Array(s.length);
  if (!w || !bias) return undefined;
  const dev = conv.output.type.device;
  const w2 = constant(b, conv.output, conv.inputs[1]!.type.shape, scaleChannels(w, s, true));
  const b2 = constant(b, conv.output, [s.length], bias.map((v, c) => v * s[c]! + t[c]!));
  return b.add('conv2d', [b.get(conv.inputs[0]!), w2, b2], conv.attrs, dev, [bn.output.name]).output;
}

function foldIntoProduct(
  producer: Node, { s, t }: Affine, b: GraphRebuilder, bn: Node, onlyFeeds: (v: Value, reader: Node) => boolean,
): Value | undefined {
  const c = s.length;
  if (bn.output.type.shape.length !== 2) return undefined;
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
