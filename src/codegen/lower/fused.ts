import type { Graph, Node } from '../../ir/graph.js';
import { fusedAttrs } from '../../ir/ops/fused.js';
import { attrsOf } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import { getOp } from '../../ir/ops/index.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { dimsOf } from '../../ir/types.js';
import { emitElementwise } from '../kernels/elementwise.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { anchoredWork } from './anchored-work.js';
import { bodyFunction } from './body-function.js';
import type { LowerContext, Lowering } from './lowering.js';
import { lowerPointwisePair } from './pointwise-pair.js';
import { lowerSqueezeExcite } from './squeeze-excite.js';
import { lowerClassifierHead } from './classifier-head.js';
import { lowerAttention } from './attention.js';

// A fused node lowers along what fusion recorded on it (see ir/ops/fused.ts): an elementwise
// chain, an anchor kernel reading each operand as `reads` says and running the nodes after it as
// its epilogue (anchored-work.ts), or a whole-body kernel by name.

/** Kernels that compute a whole fused body by themselves, by the name fusion records in `kernel`. */
const BODY_KERNELS: Readonly<Record<string, (node: Node, body: Graph, ctx: LowerContext) => EmittedKernel | EmittedKernel[]>> = {
  squeeze_excite: lowerSqueezeExcite, attention: lowerAttention, pointwise_pair: lowerPointwisePair, classifier_head: lowerClassifierHead,
};

/** A fused elementwise chain: one flat kernel reading each operand with broadcast strides. */
function lowerChain(node: Node, body: Graph): EmittedKernel {
  const other = body.nodes.find((n) => !getOp(n.op).spec.math);
  if (other) throw new KilnError(`fused node %${node.output.name}: it records no anchor, so its body must be an elementwise chain, but %${other.output.name} is ${other.op}`);
  const out = node.output.type;
  const chain = bodyFunction('chain', body.nodes, body.inputs, body.outputs[0]!);
  return emitElementwise({
    name: body.name,
    operands: node.inputs.map((v, i) => ({ dtype: v.type.dtype, strides: broadcastStrides(dimsOf(v.type), dimsOf(out)), source: i })),
    outDType: out.dtype,
    shape: dimsOf(out),
    out: node.inputs.length,
    body: chain.call,
    helpers: chain.decls,
    innerDTypes: body.nodes.map((n) => n.output.type.dtype),
  });
}

/** An anchor's kernel with the reads and the epilogue fusion recorded. */
function lowerAnchored(node: Node, ctx: LowerContext): EmittedKernel | EmittedKernel[] {
  const { anchor, impl, io } = anchoredWork(node);
  return impl.lower(anchor, io, ctx);
}

const fused: Lowering = (node: Node, ctx: LowerContext = {}) => {
  const { body, kernel, anchor } = attrsOf(node, fusedAttrs);
  if (kernel !== undefined) {
    const lower = BODY_KERNELS[kernel];
    if (!lower) throw new KilnError(`fused node %${node.output.name}: no kernel named '${kernel}' (kernels: ${Object.keys(BODY_KERNELS).join(', ')})`);
    return lower(node, body, ctx);
  }
  // The op's type check guarantees `reads` beside an `anchor`.
  return anchor === undefined ? lowerChain(node, body) : lowerAnchored(node, ctx);
};

export const fusedLowerings: Record<string, Lowering> = { fused };
