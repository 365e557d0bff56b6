import type { Graph, Value } from '../ir/graph.js';
import { tensorData, type TensorData } from '../ir/tensor-data.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';

/** f32 contents of a constant, or undefined when `v` is not an f32 constant with data. */
function constF32(v: Value): Float32Array | undefined {
  const t = v.producer?.op === 'const' ? (v.producer.attrs.value as TensorData | undefined) : undefined;
  return t?.dtype === 'f32' ? (t.data as Float32Array) : undefined;
}

/**
 * Folds an inference batch_norm into the conv2d feeding it: with s = scale / sqrt(var + eps),
 * the conv's weights become w * s (per output channel) and its bias (b - mean) * s + beta.
 * Applies when the conv's result has no other reader and every parameter is an f32 constant.
 */
export const foldBatchNorm: Pass = {
  name: 'fold-batchnorm',
  description: 'fold batch_norm into the preceding conv2d',
  run(g: Graph): Graph {
    const users = g.users();
    const outputs = new Set(g.outputs);
    let changed = false;
    const out = rebuild(g, (node, b) => {
      if (node.op !== 'batch_norm') return false;
      const conv = node.inputs[0]!.producer;
      if (conv?.op !== 'conv2d' || users.get(conv.output)?.length !== 1 || outputs.has(conv.output)) return false;
      const [scale, beta, mean, variance] = node.inputs.slice(1).map(constF32);
      const w = constF32(conv.inputs[1]!);
      const bias = conv.inputs[2] ? constF32(conv.inputs[2]) : new Float32Array(conv.output.type.shape[1]!);
      if (!scale || !beta || !mean || !variance || !w || !bias) return false;
      const eps = node.attrs.epsilon as number;
      const channels = scale.length;
      const perChannel = w.length / channels;
      const w2 = new Float32Array(w.length);
      const b2 = new Float32Array(channels);
      for (let o = 0; o < channels; o++) {
        const s = scale[o]! / Math.sqrt(variance[o]! + eps);
        for (let i = 0; i < perChannel; i++) w2[o * perChannel + i] = w[o * perChannel + i]! * s;
        b2[o] = (bias[o]! - mean[o]!) * s + beta[o]!;
      }
      const dev = conv.output.type.device;
      const wNode = b.add('const', [], { value: tensorData('f32', conv.inputs[1]!.type.shape, w2) }, dev);
      const bNode = b.add('const', [], { value: tensorData('f32', [channels], b2) }, dev);
      // The conv precedes the batch_norm and was copied already: the folded conv takes the
      // batch_norm's place, and dce removes the now unread original.
      const folded = b.add('conv2d', [b.get(conv.inputs[0]!), wNode.output, bNode.output], conv.attrs, dev, [node.output.name]);
      b.replace(node.output, folded.output);
      changed = true;
      return true;
    });
    return changed ? out : g;
  },
};
