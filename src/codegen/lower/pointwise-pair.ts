import type { Graph, Node } from '../../ir/graph.js';
import { KilnError } from '../../ir/errors.js';
import { anchorOf, anchorOperand, anchorRead } from '../../ir/ops/fused.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { innerWork } from './anchored-work.js';
import { pointwisePairKernel } from './conv.js';
import type { LowerContext } from './lowering.js';

// A convolution and the 1x1 convolution reading its output, each fused or alone
// (fuse-pointwise-pairs): one kernel where both would take the row kernel with shared weights
// (see conv-pointwise-pair.ts), else each its own kernel, as if they had not been paired. The
// node's results are the first's output and the second's.

/** Why `body` is not the pair fuse-pointwise-pairs builds, or undefined. */
function pairProblem(body: Graph): string | undefined {
  const [a, b] = body.nodes;
  if (body.nodes.length !== 2 || !a || !b) return 'it must hold exactly two nodes';
  const notConv = [a, b].find((n) => anchorOf(n)?.op !== 'conv2d');
  if (notConv) return `%${notConv.output.name} is neither a conv2d nor a fused node anchored on one`;
  if (anchorOperand(b, 0) !== a.output || anchorRead(b, 0) !== 'plain' || b.inputs.filter((v) => v === a.output).length !== 1) return `%${b.output.name} does not read %${a.output.name} as its conv's input alone`;
  if (body.outputs.length !== 2 || body.outputs[0] !== a.output || body.outputs[1] !== b.output) return 'its results must be the two nodes\' outputs';
  return undefined;
}

export function lowerPointwisePair(node: Node, body: Graph, ctx: LowerContext): EmittedKernel | EmittedKernel[] {
  const problem = pairProblem(body);
  if (problem) throw new KilnError(`fused node %${node.output.name}: its body is not the convolution and 1x1 convolution its kernel 'pointwise_pair' computes: ${problem}`);
  const [a, b] = body.nodes as [Node, Node];
  const [first, second] = [innerWork(node, a), innerWork(node, b, 'epilogue2_body')];
  return pointwisePairKernel(body.name, first, second, ctx) ?? [first, second].flatMap((w) => w.impl.lower(w.anchor, w.io, ctx));
}
