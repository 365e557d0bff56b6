import type { Graph, Node, Value } from '../../ir/graph.js';
import { KilnError } from '../../ir/errors.js';
import { allOps, getOp } from '../../ir/ops/index.js';
import { bodyFunction } from './body-function.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitElementwise } from '../kernels/elementwise.js';
import { emitSqueezeExcite } from '../kernels/squeeze-excite.js';
import type { Epilogue } from '../kernels/epilogue.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { wgslType } from '../wgsl.js';
import { traceView, type View } from '../../ir/view.js';
import { convAnchors, convReadsView, lowerConv2d } from './conv.js';
import { lowerConcat } from './concat-split.js';
import { lowerReduction } from './reduce.js';
import { gemmAnchors } from './gemm.js';
import { lowerMatmul } from './matmul.js';
import { normAnchors } from './norm.js';
import { softmaxAnchors } from './softmax.js';
import { matmulAnchors } from './matmul.js';
import type { AnchorLowering, LowerContext, Lowering } from './lowering.js';

/** Ops that take a fused elementwise epilogue in their kernel. */
export const anchorLowerings: Readonly<Record<string, AnchorLowering>> = {
  ...convAnchors, ...matmulAnchors, ...gemmAnchors, ...softmaxAnchors, ...normAnchors,
  ...Object.fromEntries(allOps().filter((d) => d.spec.reduce).map((d) => [d.name, (n: Node, e?: Epilogue) => lowerReduction(n, e)])),
};

/** Anchors whose kernels compute in f32 from any float input, so they read an f16 input directly. */
export function readsWidened(op: string): boolean {
  return op === 'softmax' || op === 'log_softmax' || op === 'layer_norm';
}

/** Anchors whose kernels convert their first operand as they load it (matmul's A, conv's x), so they read an f32 input being narrowed directly. */
export function readsNarrowed(op: string): boolean {
  return op === 'matmul' || op === 'conv2d';
}

/** Whether an anchor's kernel reads operand `input` through `view` (matmul: any; conv2d: x with contiguous rows). */
export function readsView(op: string, input: number, view: View): boolean {
  return op === 'matmul' || op === 'concat' || (op === 'conv2d' && input === 0 && convReadsView(view));
}

/** A fused elementwise chain: one flat kernel reading each operand with broadcast strides. */
function lowerChain(node: Node, body: Graph): EmittedKernel {
  const out = node.output.type;
  const chain = bodyFunction('chain', body.nodes, body.inputs, body.outputs[0]!);
  return emitElementwise({
    name: body.name,
    operands: node.inputs.map((v) => ({ dtype: v.type.dtype, strides: broadcastStrides(v.type.shape, out.shape) })),
    outDType: out.dtype,
    shape: out.shape,
    body: chain.call,
    helpers: chain.decls,
    innerDTypes: body.nodes.map((n) => n.output.type.dtype),
  });
}

/**
 * An anchor (conv, matmul) with its elementwise epilogue: the anchor's kernel, storing each
 * result through the composed epilogue. Bindings: the anchor's operands, the epilogue's, the output.
 */
function lowerAnchored(node: Node, body: Graph, anchor: Node, ctx: LowerContext): EmittedKernel {
  // Operands reached through view chains (copied in by fusion) are read from the chain's base.
  const traced = anchor.inputs.map((v) => traceView(v));
  const prologue = new Set(traced.flatMap((t) => t?.chain ?? []));
  // A per-channel scale of a conv's input (fusion puts `mul(x, s)` in front of it).
  const scaleMul = anchor.op === 'conv2d' ? body.nodes.find((n) => n.op === 'mul' && n.output === anchor.inputs[0]) : undefined;
  if (scaleMul) prologue.add(scaleMul);
  // An f16 -> f32 cast before a kernel that computes in f32 (or any cast before a matmul's A or
  // a conv's x, converted as it is loaded): the kernel reads the cast's input.
  const widen = readsWidened(anchor.op) || readsNarrowed(anchor.op) ? body.nodes.find((n) => n.op === 'cast' && n.output === anchor.inputs[0]) : undefined;
  if (widen) prologue.add(widen);
  // A reduction computes the elementwise chain producing its input as it reads it.
  const reduces = getOp(anchor.op).spec.reduce !== undefined;
  const chain = reduces ? ancestors(body, anchor.inputs[0]!) : [];
  for (const n of chain) prologue.add(n);
  const rest = body.nodes.filter((n) => n !== anchor && !prologue.has(n));
  const epiParams = body.inputs.filter((p) => rest.some((n) => n.inputs.includes(p)));
  const out = node.output.type;
  const epiBody = bodyFunction('epilogue_body', rest, [anchor.output, ...epiParams], body.outputs[0]!);
  const epilogue: Epilogue | undefined = rest.length === 0 ? undefined : {
    name: rest.map((n) => n.op).join('_'),
    operands: epiParams.map((p) => ({ dtype: p.type.dtype, strides: broadcastStrides(p.type.shape, out.shape) })),
    outShape: out.shape,
    outDType: out.dtype,
    body: (v, xs) => epiBody.call([`${wgslType(anchor.output.type.dtype)}(${v})`, ...xs]),
    helpers: epiBody.decls,
  };
  const param = (v: Value) => body.inputs.indexOf(v);
  if (scaleMul) {
    const full = scaleMul.inputs.find((v) => v.type.shape.every((d, i) => d === scaleMul.output.type.shape[i]))!;
    const scale = scaleMul.inputs.find((v) => v !== full) ?? full;
    const kernel = lowerConv2d(anchor, epilogue, [], { batchStride: scale.type.shape[0] === 1 ? 0 : scale.type.shape[1]! });
    return { ...kernel, bindings: [param(full), ...anchor.inputs.slice(1).map(param), param(scale), ...epiParams.map(param), node.inputs.length] };
  }
  if (reduces && chain.length) {
    const operands = body.inputs.filter((p) => chain.some((n) => n.inputs.includes(p)));
    const pro = bodyFunction('prologue_body', chain, operands, anchor.inputs[0]!);
    const kernel = lowerReduction(anchor, epilogue, { operands: operands.map((p) => p.type.dtype), body: pro.call, helpers: pro.decls });
    return { ...kernel, bindings: [...operands.map(param), ...epiParams.map(param), node.inputs.length] };
  }
  if (widen && anchor.op === 'matmul') {
    // B may still be read through a view.
    const kernel = lowerMatmul(anchor, epilogue, [undefined, traced[1]?.view], ctx, widen.inputs[0]!.type.dtype);
    return { ...kernel, bindings: [param(widen.inputs[0]!), param(traced[1]?.base ?? anchor.inputs[1]!), ...epiParams.map(param), node.inputs.length] };
  }
  if (widen) {
    // The anchor lowered as if its input were the cast's (same shape, f16); the result keeps the
    // anchor's dtype through the epilogue (an identity one when nothing else follows).
    const narrowed: Node = Object.assign(Object.create(Object.getPrototypeOf(anchor) as object) as Node, anchor, { inputs: [widen.inputs[0]!, ...anchor.inputs.slice(1)] });
    const out = node.output.type;
    const keep: Epilogue = epilogue ?? { name: 'f32', operands: [], outShape: out.shape, outDType: anchor.output.type.dtype, body: (v) => v, helpers: [] };
    const kernel = anchorLowerings[anchor.op]!(narrowed, keep, [], ctx);
    return { ...kernel, bindings: [param(widen.inputs[0]!), ...anchor.inputs.slice(1).map(param), ...epiParams.map(param), node.inputs.length] };
  }
  const kernel = anchorLowerings[anchor.op]!(anchor, epilogue, traced.map((t) => t?.view), ctx);
  const anchorBindings = anchor.inputs.map((v, i) => param(traced[i]?.base ?? v));
  return { ...kernel, bindings: [...anchorBindings, ...epiParams.map(param), node.inputs.length] };
}

/** A concat reading its sources through views, optionally with the channel shuffle and a cast after it. */
function lowerConcatGroup(node: Node, body: Graph, concat: Node): EmittedKernel | EmittedKernel[] {
  const traced = concat.inputs.map((v) => traceView(v));
  const shuffle = body.nodes.find((n) => n.op === 'channel_shuffle');
  const outDType = node.output.type.dtype;
  const kernels = lowerConcat(concat, traced.map((t) => t?.view), shuffle?.attrs.groups as number | undefined, body.name,
    outDType === concat.output.type.dtype ? undefined : outDType);
  const param = (v: Value) => body.inputs.indexOf(v);
  // The concat kernel binds its sources by input index and the output last: map those to the fused node's.
  const remap = (k: EmittedKernel) => ({
    ...k,
    bindings: k.bindings!.map((i) => (i === concat.inputs.length ? node.inputs.length : param(traced[i]?.base ?? concat.inputs[i]!))),
  });
  return Array.isArray(kernels) ? kernels.map(remap) : remap(kernels);
}

/** The body nodes `v` depends on, in body order. */
function ancestors(body: Graph, v: Value): Node[] {
  const need = new Set<Value>([v]);
  const out: Node[] = [];
  for (let i = body.nodes.length - 1; i >= 0; i--) {
    const n = body.nodes[i]!;
    if (!n.outputs.some((o) => need.has(o))) continue;
    out.unshift(n);
    for (const x of n.inputs) need.add(x);
  }
  return out;
}

/**
 * Why `body` is not the chain fuse-se builds (pool, 1x1 conv, unary ops, 1x1 conv, unary ops,
 * each reading the one before), or undefined. A hand-edited IR dump can name any body so.
 */
function squeezeExciteProblem(body: Graph): string | undefined {
  const [pool, ...rest] = body.nodes;
  if (pool?.op !== 'global_avg_pool' || pool.inputs[0]!.type.shape.length !== 4) return 'it does not start with a global_avg_pool of an NCHW tensor';
  if (rest.filter((n) => n.op === 'conv2d').length !== 2 || rest[0]?.op !== 'conv2d') return 'it needs exactly two conv2d, the first right after the pool';
  for (const [i, n] of rest.entries()) {
    if (n.inputs[0] !== body.nodes[i]!.output) return `%${n.output.name} does not read the node before it`;
    const pointwise = n.op === 'conv2d' && n.inputs[1]!.type.shape[2] === 1 && n.inputs[1]!.type.shape[3] === 1 && n.attrs.groups === 1;
    if (n.op === 'conv2d' ? !pointwise : n.inputs.length !== 1 || !getOp(n.op).spec.math) return `%${n.output.name} (${n.op}) is neither a 1x1 conv2d nor a unary elementwise op`;
  }
  if (body.outputs[0] !== body.nodes.at(-1)!.output) return 'its result is not its last node';
  return undefined;
}

/** A squeeze-and-excitation gate (see fuse-se): pool, conv, activations, conv, activations. */
function lowerSqueezeExcite(node: Node, body: Graph): EmittedKernel {
  const problem = squeezeExciteProblem(body);
  if (problem) throw new KilnError(`fused node %${node.output.name}: its body 'squeeze_excite' is not a squeeze-and-excitation gate: ${problem}`);
  const [pool, ...rest] = body.nodes;
  const convs = rest.filter((n) => n.op === 'conv2d');
  const [c1, c2] = convs as [Node, Node];
  const acts = (from: Node, to?: Node) => rest.slice(rest.indexOf(from) + 1, to ? rest.indexOf(to) : undefined);
  // Activations compute in the body's dtype, from and to the kernel's f32 accumulators.
  const dtype = pool!.inputs[0]!.type.dtype;
  const activation = (name: string, nodes: Node[], from: Node) => bodyFunction(name, nodes, [from.output], nodes.at(-1)?.output ?? from.output);
  const [act1, act2] = [activation('act1', acts(c1, c2), c1), activation('act2', acts(c2), c2)];
  const call = (f: typeof act1) => (a: string) => `f32(${f.call([`${wgslType(dtype)}(${a})`])})`;
  const x = pool!.inputs[0]!.type.shape;
  const param = (v: Value | undefined) => (v ? [body.inputs.indexOf(v)] : []);
  const kernel = emitSqueezeExcite({
    name: body.name, dtype, batch: x[0]!, channels: x[1]!, hidden: c1.output.type.shape[1]!, outChannels: c2.output.type.shape[1]!,
    spatial: x[2]! * x[3]!, hasBias1: c1.inputs.length === 3, hasBias2: c2.inputs.length === 3,
    act1: call(act1), act2: call(act2), helpers: [...act1.decls, ...act2.decls],
  });
  return {
    ...kernel,
    bindings: [...param(pool!.inputs[0]), ...param(c1.inputs[1]), ...param(c1.inputs[2]), ...param(c2.inputs[1]), ...param(c2.inputs[2]), node.inputs.length],
  };
}

const fused: Lowering = (node: Node, ctx: LowerContext = {}) => {
  const body = node.attrs.body as Graph;
  if (body.name === 'squeeze_excite') return lowerSqueezeExcite(node, body);
  const concat = body.nodes.find((n) => n.op === 'concat');
  if (concat) return lowerConcatGroup(node, body, concat);
  const anchor = body.nodes.find((n) => anchorLowerings[n.op]);
  return anchor ? lowerAnchored(node, body, anchor, ctx) : lowerChain(node, body);
};

export const fusedLowerings: Record<string, Lowering> = { fused };
