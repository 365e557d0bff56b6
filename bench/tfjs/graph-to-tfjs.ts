// Runs a kiln graph (as traced) with TensorFlow.js ops, so that TF.js computes the same model
// with the same weights: the way a TF.js user would write it by hand, op for op.
import type * as TF from '@tensorflow/tfjs-core';
import type { Graph, Node, Value } from '../../src/ir/graph.js';
import { isTensorData } from '../../src/ir/tensor-data.js';

type Tf = typeof TF;
type Apply = (tf: Tf, node: Node, ins: TF.Tensor[]) => TF.Tensor[];

const one = (f: (tf: Tf, node: Node, ins: TF.Tensor[]) => TF.Tensor): Apply => (tf, node, ins) => [f(tf, node, ins)];

const OPS: Record<string, Apply> = {
  matmul: one((tf, _n, [a, b]) => tf.matMul(a as TF.Tensor3D, b as TF.Tensor3D)),
  add: one((tf, _n, [a, b]) => tf.add(a!, b!)),
  sub: one((tf, _n, [a, b]) => tf.sub(a!, b!)),
  mul: one((tf, _n, [a, b]) => tf.mul(a!, b!)),
  div: one((tf, _n, [a, b]) => tf.div(a!, b!)),
  relu: one((tf, _n, [x]) => tf.relu(x!)),
  exp: one((tf, _n, [x]) => tf.exp(x!)),
  tanh: one((tf, _n, [x]) => tf.tanh(x!)),
  sigmoid: one((tf, _n, [x]) => tf.sigmoid(x!)),
  erf: one((tf, _n, [x]) => tf.erf(x!)),
  sqrt: one((tf, _n, [x]) => tf.sqrt(x!)),
  neg: one((tf, _n, [x]) => tf.neg(x!)),
  gelu: one((tf, n, [x]) => {
    if (n.attrs.approximate === 'tanh') throw new Error("the bench's TF.js runner has no gelu(approximate='tanh')");
    // 0.5 x (1 + erf(x / sqrt 2)): TF.js has no gelu op.
    return tf.mul(tf.mul(x!, 0.5), tf.add(tf.erf(tf.mul(x!, Math.SQRT1_2)), 1));
  }),
  transpose: one((tf, n, [x]) => {
    const perm = n.attrs.perm as number[];
    return tf.transpose(x!, perm.length ? perm : undefined);
  }),
  reshape: one((tf, n, [x]) => tf.reshape(x!, n.attrs.shape as number[])),
  concat: one((tf, n, ins) => tf.concat(ins, n.attrs.axis as number)),
  split: (tf, n, [x]) => tf.split(x!, n.attrs.sizes as number[], n.attrs.axis as number),
  softmax: one((tf, n, [x]) => {
    const rank = x!.shape.length;
    const axis = n.attrs.axis as number;
    if (axis !== -1 && axis !== rank - 1) throw new Error("the bench's TF.js runner has softmax over the last axis only (as TF.js)");
    return tf.softmax(x!, -1);
  }),
  layer_norm: one((tf, n, [x, weight, bias]) => {
    const rank = x!.shape.length;
    const axis = n.attrs.axis as number;
    const axes = Array.from({ length: rank - (axis < 0 ? axis + rank : axis) }, (_, i) => rank - 1 - i);
    const { mean, variance } = tf.moments(x!, axes, true);
    let y = tf.div(tf.sub(x!, mean), tf.sqrt(tf.add(variance, n.attrs.epsilon as number)));
    if (weight) y = tf.mul(y, weight);
    if (bias) y = tf.add(y, bias);
    return y;
  }),
};

/** Ops of a graph the TF.js runner cannot run; empty when it can run the graph. */
export function unsupportedTfOps(graph: Graph): string[] {
  return [...new Set(graph.nodes.map((n) => n.op).filter((op) => op !== 'const' && !(op in OPS)))];
}

/** A graph bound to TF.js: weights uploaded once, then run on host inputs. */
export interface TfGraphRunner {
  /** Runs the graph on host inputs; resolves with the first output read back. */
  run(inputs: ReadonlyMap<string, Float32Array>): Promise<Float32Array>;
  dispose(): void;
}

/** Uploads the graph's constants as TF.js tensors and returns a runner for it. */
export function graphToTfjs(tf: Tf, graph: Graph): TfGraphRunner {
  const missing = unsupportedTfOps(graph);
  if (missing.length) throw new Error(`the bench's TF.js runner has no op(s) ${missing.join(', ')}`);
  const consts = new Map<Value, TF.Tensor>();
  for (const node of graph.nodes) {
    if (node.op !== 'const') continue;
    const value = node.attrs.value;
    if (!isTensorData(value) || value.dtype !== 'f32') throw new Error(`const %${node.outputs[0]!.name}: the TF.js runner takes f32 constants only`);
    consts.set(node.output, tf.tensor(value.data as Float32Array, [...value.shape], 'float32'));
  }
  return {
    async run(inputs) {
      const result = tf.tidy(() => {
        const env = new Map<Value, TF.Tensor>(consts);
        for (const v of graph.inputs) env.set(v, tf.tensor(inputs.get(v.name)!, [...v.type.shape], 'float32'));
        for (const node of graph.nodes) {
          if (node.op === 'const') continue;
          const outs = OPS[node.op]!(tf, node, node.inputs.map((v) => env.get(v)!));
          node.outputs.forEach((v, i) => env.set(v, outs[i]!));
        }
        return env.get(graph.outputs[0]!)!;
      });
      try {
        return (await result.data()) as Float32Array;
      } finally {
        result.dispose();
      }
    },
    dispose() {
      for (const t of consts.values()) t.dispose();
    },
  };
}
