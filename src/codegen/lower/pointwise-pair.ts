import type { Graph, Node } from '../../ir/graph.js';
import { KilnError } from '../../ir/errors.js';
import { anchorOf, anchorOperand, anchorRead } from '../../ir/ops/fused.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { innerWork } from './anchored-work.js';
import { pointwisePairKernel } from './conv.js';
import type { LowerContext } from './lowering.js';

// A convolution and the 1x1 convolution reading its output, each fused or alone, and the
// depthwise convolution whose output the first alone reads, when there is one
// (fuse-pointwise-pairs): one kernel where the pair would take the row kernel with shared weights
// (see conv-pointwise-pair.ts), else each its own kernel, as if they had not been fused. The
// node's results are every member's output.

/** Why `body` is not the pair (or depthwise conv and pair) fuse-pointwise-pairs builds, or undefined. */
function pairProblem(body: Graph): string | undefined {
  const nodes = body.nodes;
  if (nodes.length !== 2 && nodes.length !== 3) return 'it must hold two nodes, or three';
  const notConv = nodes.find((n) => anchorOf(n)?.op !== 'conv2d');
  if (notConv) return `%${notConv.output.name} is neither a conv2d nor a fused node anchored on one`;
  for (const [i, n] of nodes.slice(1).entries()) {
    const before = nodes[i]!;
    if (anchorOperand(n, 0) !== before.output || anchorRead(n, 0) !== 'plain' || n.inputs.filter((v) => v === before.output).length !== 1) return `%${n.output.name} does not read %${before.output.name} as its conv's input alone`;
  }
  if (body.outputs.length !== nodes.length || nodes.some((n, i) => body.outputs[i] !== n.output)) return 'its results must be its nodes\' outputs';
  return undefined;
}

export function lowerPointwisePair(node: Node, body: Graph, ctx: LowerContext): EmittedKernel | EmittedKernel[] {
  const problem = pairProblem(body);
  if (problem) throw new KilnError(`fused node %${node.output.name}: its body is not the convolutions its kernel 'pointwise_pair' computes: ${problem}`);
  const [b, a, d] = body.nodes.slice().reverse() as [Node, Node, Node | undefined];
  const [first, second] = [innerWork(node, a), innerWork(node, b, 'epilogue2_body')];
  const depthwise = d ? innerWork(node, d, 'epilogue0_body') : undefined;
  const works = [...(depthwise ? [depthwise] : []), first, second];
  return pointwisePairKernel(body.name, first, second, ctx, depthwise) ?? works.flatMap((w) => w.impl.lower(w.anchor, w.io, ctx));
}
