import type { Graph, Node, Value } from '../../src/ir/graph.js';
import { isTensorData } from '../../src/ir/tensor-data.js';
import { OnnxModelBuilder } from './onnx-writer.js';
import { emitMatMulNBits, linearPlan } from './export-q4.js';
import { emitDynamicQuantized } from './export-q8.js';

/** The bench exports a traced graph to ONNX only when every op has a mapping here. */
type Emit = (b: OnnxModelBuilder, node: Node, ins: string[], outs: string[]) => void;

const SQRT_HALF = Math.SQRT1_2;

const BINARY: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' };
const UNARY: Record<string, string> = { relu: 'Relu', exp: 'Exp', tanh: 'Tanh', sigmoid: 'Sigmoid', erf: 'Erf', sqrt: 'Sqrt', neg: 'Neg' };

const EMITTERS: Record<string, Emit> = {
  matmul: (b, _n, ins, outs) => void b.node('MatMul', ins, outs),
  transpose: (b, n, ins, outs) => {
    const perm = n.attrs.perm as number[];
    // kiln's empty perm reverses the axes, as ONNX's absent perm does.
    b.node('Transpose', ins, outs, perm.length ? { perm: { ints: perm } } : {});
  },
  reshape: (b, n, ins, outs) => void b.node('Reshape', [ins[0]!, b.int64s(n.attrs.shape as number[])], outs),
  split: (b, n, ins, outs) => void b.node('Split', [ins[0]!, b.int64s(n.attrs.sizes as number[])], outs, { axis: { int: n.attrs.axis as number } }),
  concat: (b, n, ins, outs) => void b.node('Concat', ins, outs, { axis: { int: n.attrs.axis as number } }),
  softmax: (b, n, ins, outs) => void b.node('Softmax', ins, outs, { axis: { int: n.attrs.axis as number } }),
  layer_norm: (b, n, ins, outs) => {
    const x = n.inputs[0]!;
    const axis = n.attrs.axis as number;
    const rank = x.type.shape.length;
    const normShape = x.type.shape.slice(axis < 0 ? axis + rank : axis);
    const count = normShape.reduce((p, d) => p * d, 1);
    // ONNX's LayerNormalization needs a scale; kiln's weight and bias are optional.
    const scale = ins[1] ?? b.initializer(b.fresh('ln_scale'), { dtype: 'f32', shape: normShape, data: new Float32Array(count).fill(1) });
    const inputs = ins[2] ? [ins[0]!, scale, ins[2]] : [ins[0]!, scale];
    b.node('LayerNormalization', inputs, outs, { axis: { int: axis }, epsilon: { float: n.attrs.epsilon as number } });
  },
  gelu: (b, n, ins, outs) => {
    // Opset 17 has no Gelu: 0.5 x (1 + erf(x / sqrt 2)), as PyTorch exports it.
    if (n.attrs.approximate === 'tanh') throw new Error("the bench's ONNX export has no gelu(approximate='tanh')");
    const x = ins[0]!;
    const [scaled] = b.node('Mul', [x, b.scalar(SQRT_HALF)]);
    const [erf] = b.node('Erf', [scaled!]);
    const [onePlus] = b.node('Add', [erf!, b.scalar(1)]);
    const [half] = b.node('Mul', [x, b.scalar(0.5)]);
    b.node('Mul', [half!, onePlus!], outs);
  },
};
for (const [op, onnx] of Object.entries(BINARY)) EMITTERS[op] = (b, _n, ins, outs) => void b.node(onnx, ins, outs);
for (const [op, onnx] of Object.entries(UNARY)) EMITTERS[op] = (b, _n, ins, outs) => void b.node(onnx, ins, outs);

/** Ops of a graph that exportOnnx cannot write; empty when it can export the graph. */
export function unexportableOps(graph: Graph): string[] {
  return [...new Set(graph.nodes.map((n) => n.op).filter((op) => op !== 'const' && !(op in EMITTERS)))];
}

/**
 * Writes a kiln graph (as traced, before optimisation) as an equivalent ONNX model, so that the
 * ONNX peers run exactly the computation kiln runs, with the same weights and value names for
 * the graph's inputs and outputs.
 */
export function exportOnnx(graph: Graph, opts: { readonly weights?: 'q4' | 'q8' } = {}): Uint8Array {
  const missing = unexportableOps(graph);
  if (missing.length) throw new Error(`the bench cannot export op(s) ${missing.join(', ')} of graph '${graph.name}' to ONNX`);
  const b = new OnnxModelBuilder(graph.name);
  const names = new Map<Value, string>();
  for (const v of graph.inputs) {
    b.input(v.name, v.type.dtype, v.type.shape);
    names.set(v, v.name);
  }
  // Output values keep their names; other values get fresh ones, so no kiln name can collide.
  for (const v of graph.outputs) b.claim(v.name);
  const nameOf = (v: Value): string => {
    const n = names.get(v);
    if (n === undefined) throw new Error(`value %${v.name} is read before it is defined`);
    return n;
  };
  // Under q4, Linear layers' matmuls become MatMulNBits over their 4-bit weights (export-q4.ts);
  // under q8, dynamically quantized products over int8 weights (export-q8.ts).
  const quantized = opts.weights ? linearPlan(graph) : undefined;
  const emitQuantized = opts.weights === 'q8' ? emitDynamicQuantized : emitMatMulNBits;
  for (const node of graph.nodes) {
    if (quantized?.skipped.has(node)) continue;
    const outs = node.outputs.map((v) => (graph.outputs.includes(v) ? v.name : b.fresh(`v${v.name}`)));
    node.outputs.forEach((v, i) => names.set(v, outs[i]!));
    const w = quantized?.weights.get(node);
    if (w) {
      emitQuantized(b, w, nameOf(node.inputs[0]!), outs);
      continue;
    }
    if (node.op === 'const') {
      const value = node.attrs.value;
      if (!isTensorData(value)) throw new Error(`const %${node.outputs[0]!.name} holds no tensor`);
      b.initializer(outs[0]!, value);
      continue;
    }
    EMITTERS[node.op]!(b, node, node.inputs.map(nameOf), outs);
  }
  for (const v of graph.outputs) {
    // An output that is a graph input or a constant needs a node that produces it under its name.
    if (!v.producer || v.producer.op === 'const') throw new Error(`output %${v.name} is not computed by the graph`);
    b.output(v.name, v.type.dtype, v.type.shape);
  }
  return b.encode();
}
