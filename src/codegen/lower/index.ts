import type { Node } from '../../ir/graph.js';
import { getOp, opTable } from '../../ir/ops/index.js';
import { KilnError } from '../../ir/errors.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { convLowerings } from './conv.js';
import { lowerElementwise } from './elementwise.js';
import type { LowerContext, Lowering } from './lowering.js';
import { fusedLowerings } from './fused.js';
import { matmulLowerings } from './matmul.js';
import { movementLowerings } from './movement.js';
import { concatSplitLowerings } from './concat-split.js';
import { slicePadLowerings } from './slice-pad.js';
import { gatherLowerings } from './gather.js';
import { resizeLowerings } from './resize.js';
import { poolLowerings } from './pool.js';
import { reduceLowerings } from './reduce.js';
import { softmaxLowerings } from './softmax.js';
import { normLowerings } from './norm.js';
import { gemmLowerings } from './gemm.js';
import { convBackwardLowerings } from './conv-backward.js';
import { poolBackwardLowerings } from './pool-backward.js';

/** Lowerings of ops not covered by their scalar math; one table per family. */
const byName = opTable<Lowering>('GPU lowering', [
  fusedLowerings,
  matmulLowerings,
  movementLowerings,
  concatSplitLowerings,
  slicePadLowerings,
  gatherLowerings,
  resizeLowerings,
  reduceLowerings,
  softmaxLowerings,
  normLowerings,
  gemmLowerings,
  convLowerings,
  poolLowerings,
  convBackwardLowerings,
  poolBackwardLowerings,
]);

/** Whether the op has a WebGPU kernel (placement sends the others to the CPU). */
export function hasGpuLowering(op: string): boolean {
  if (byName[op]) return true;
  return getOp(op).spec.math !== undefined;
}

/** The kernels computing one node, dispatched in order. */
export function lowerNode(node: Node, ctx: LowerContext = {}): EmittedKernel[] {
  const byOp = byName[node.op];
  const k = byOp ? byOp(node, ctx) : undefined;
  if (k) return Array.isArray(k) ? k : [k];
  if (getOp(node.op).spec.math) return [lowerElementwise(node)];
  throw new KilnError(`no WebGPU kernel for op ${node.op} (node %${node.outputs[0]?.name})`);
}
