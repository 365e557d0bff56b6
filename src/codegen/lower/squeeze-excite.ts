import type { Graph, Node, Value } from '../../ir/graph.js';
import { attrsOf } from '../../ir/attrs.js';
import { dequantizeInt8Attrs } from '../../ir/ops/quantize.js';
import { channelLayout } from '../../ir/quantize-int8.js';
import type { Source } from '../kernel-module.js';
import type { Int8WeightStorage } from '../kernels/weight-load.js';
import { KilnError } from '../../ir/errors.js';
import { getOp } from '../../ir/ops/index.js';
import { emitSqueezeExcite } from '../kernels/squeeze-excite.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { wgslType } from '../wgsl.js';
import { dimsOf } from '../../ir/types.js';
import { dMul } from '../../ir/size-expr.js';
import { bodyFunction } from './body-function.js';

/**
 * Why `body` is not the chain fuse-se builds (pool, 1x1 conv, unary ops, 1x1 conv, unary ops,
 * each reading the one before), or undefined. A hand-edited IR dump can name any body so.
 */
function squeezeExciteProblem(body: Graph): string | undefined {
  const nodes = computed(body);
  const [pool, ...rest] = nodes;
  if (pool?.op !== 'global_avg_pool' || pool.inputs[0]!.type.shape.length !== 4) return 'it does not start with a global_avg_pool of an NCHW tensor';
  if (rest.filter((n) => n.op === 'conv2d').length !== 2 || rest[0]?.op !== 'conv2d') return 'it needs exactly two conv2d, the first right after the pool';
  for (const [i, n] of rest.entries()) {
    if (n.inputs[0] !== nodes[i]!.output) return `%${n.output.name} does not read the node before it`;
    const pointwise = n.op === 'conv2d' && n.inputs[1]!.type.shape[2] === 1 && n.inputs[1]!.type.shape[3] === 1 && n.attrs.groups === 1;
    if (n.op === 'conv2d' ? !pointwise : n.inputs.length !== 1 || !getOp(n.op).spec.math) return `%${n.output.name} (${n.op}) is neither a 1x1 conv2d nor a unary elementwise op`;
  }
  if (body.outputs[0] !== nodes.at(-1)!.output) return 'its result is not its last node';
  const int8 = body.nodes.filter((n) => n.op === 'dequantize_int8');
  if (int8.some((d) => d.inputs.some((v) => !body.inputs.includes(v)) || !rest.some((n) => n.op === 'conv2d' && n.inputs[1] === d.output))) {
    return 'a dequantize_int8 in it does not make a conv weight from its operands';
  }
  return undefined;
}

/** The body's nodes besides the int8 weights' dequantize_int8 (which the kernel does as it loads). */
function computed(body: Graph): Node[] {
  return body.nodes.filter((n) => n.op !== 'dequantize_int8');
}

/** A conv weight as the kernel binds it: the operand, or the packed values and scales of an int8 weight. */
function weightSource(body: Graph, w: Value): { source: Source; int8?: Int8WeightStorage } {
  const d = w.producer;
  if (d?.op !== 'dequantize_int8') return { source: body.inputs.indexOf(w) };
  const { shape, axis } = attrsOf(d, dequantizeInt8Attrs);
  const [packed, scales] = d.inputs as [Value, Value];
  return { source: body.inputs.indexOf(packed), int8: { scales: body.inputs.indexOf(scales), scalesDType: scales.type.dtype, ...channelLayout(shape, axis) } };
}

/** A squeeze-and-excitation gate (see fuse-se) in one kernel: pool, conv, activations, conv, activations. */
export function lowerSqueezeExcite(node: Node, body: Graph): EmittedKernel {
  const problem = squeezeExciteProblem(body);
  if (problem) throw new KilnError(`fused node %${node.output.name}: its body is not the squeeze-and-excitation gate its kernel 'squeeze_excite' computes: ${problem}`);
  const [pool, ...rest] = computed(body) as [Node, ...Node[]];
  const [c1, c2] = rest.filter((n) => n.op === 'conv2d') as [Node, Node];
  const acts = (from: Node, to?: Node) => rest.slice(rest.indexOf(from) + 1, to ? rest.indexOf(to) : undefined);
  // Activations compute in the body's dtype, from and to the kernel's f32 accumulators.
  const dtype = pool.inputs[0]!.type.dtype;
  const activation = (name: string, nodes: Node[], from: Node) => bodyFunction(name, nodes, [from.output], nodes.at(-1)?.output ?? from.output);
  const [act1, act2] = [activation('act1', acts(c1, c2), c1), activation('act2', acts(c2), c2)];
  const call = (f: typeof act1) => (a: string) => `f32(${f.call([`${wgslType(dtype)}(${a})`])})`;
  const x = dimsOf(pool.inputs[0]!.type);
  const source = (v: (typeof body.inputs)[number]) => body.inputs.indexOf(v);
  return emitSqueezeExcite({
    name: body.name, dtype, batch: x[0]!, channels: x[1]! as number, hidden: c1.output.type.shape[1]!, outChannels: c2.output.type.shape[1]!,
    spatial: dMul(x[2]!, x[3]!), act1: call(act1), act2: call(act2), helpers: [...act1.decls, ...act2.decls],
    sources: {
      x: source(pool.inputs[0]!), w1: weightSource(body, c1.inputs[1]!), ...(c1.inputs[2] ? { b1: source(c1.inputs[2]) } : {}),
      w2: weightSource(body, c2.inputs[1]!), ...(c2.inputs[2] ? { b2: source(c2.inputs[2]) } : {}), out: node.inputs.length,
    },
  });
}
