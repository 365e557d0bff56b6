import type { Node } from '../../ir/graph.js';
import { allOps, getOp, opTable } from '../../ir/ops/index.js';
import { KilnError } from '../../ir/errors.js';
import { attrsOf } from '../../ir/attrs.js';
import { fusedAttrs } from '../../ir/ops/fused.js';
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
import { gridSampleLowerings } from './grid-sample.js';
import { roiAlignLowerings } from './roi-align.js';
import { deformConvLowerings } from './deform-conv.js';
import { scanLowerings } from './scan.js';
import { resizeLowerings } from './resize.js';
import { poolLowerings } from './pool.js';
import { reduceLowerings } from './reduce.js';
import { softmaxLowerings } from './softmax.js';
import { normLowerings } from './norm.js';
import { gemmLowerings } from './gemm.js';
import { convBackwardLowerings } from './conv-backward.js';
import { poolBackwardLowerings } from './pool-backward.js';
import { quantizeLowerings } from './quantize.js';

/** Lowerings of ops not covered by their scalar math; one table per family. */
const byName = opTable<Lowering>('GPU lowering', [
  fusedLowerings,
  matmulLowerings,
  movementLowerings,
  concatSplitLowerings,
  slicePadLowerings,
  gatherLowerings,
  gridSampleLowerings,
  roiAlignLowerings,
  deformConvLowerings,
  scanLowerings,
  resizeLowerings,
  reduceLowerings,
  softmaxLowerings,
  normLowerings,
  gemmLowerings,
  convLowerings,
  poolLowerings,
  convBackwardLowerings,
  poolBackwardLowerings,
  quantizeLowerings,
]);

/** Whether the op has a WebGPU kernel (placement sends the others to the CPU). */
export function hasGpuLowering(op: string): boolean {
  if (byName[op]) return true;
  return getOp(op).spec.math !== undefined;
}

/**
 * Ops whose lowerings read every extent, stride and count of a node from its values' `dims`, so
 * that one kernel serves every size a symbolic dimension takes (sizes become uniform words
 * computed when the model runs). Ops with scalar math lower through the elementwise kernel, which
 * does. A fused node qualifies when every op in its body does. dequantize_int8 and
 * dequantize_blocks make constant weights, whose extents are fixed at any input size; gather_blocks
 * reads its count of indices from their dims.
 */
const SYMBOLIC_READY = new Set<string>([
  'matmul', 'gemm', 'conv2d', 'conv_transpose2d', 'resize', 'max_pool2d', 'avg_pool2d', 'global_avg_pool', 'softmax', 'log_softmax', 'layer_norm',
  'transpose', 'reshape', 'flatten', 'squeeze', 'unsqueeze', 'expand', 'concat', 'slice', 'split', 'pad', 'gather', 'gather_elements', 'scatter_elements', 'gather_nd', 'scatter_nd', 'cumsum', 'cumprod', 'top_k', 'grid_sample', 'roi_align', 'deform_conv2d', 'max_pool2d_indices', 'embedding', 'squeeze_excite', 'attention', 'pointwise_pair', 'classifier_head', 'dequantize_int8', 'dequantize_blocks', 'gather_blocks',
  ...allOps().filter((d) => d.spec.reduce).map((d) => d.name),
]);

/** Whether the node's kernels take symbolic sizes (see SYMBOLIC_READY). */
export function readsSymbolicSizes(node: Node): boolean {
  if (node.op === 'fused') {
    const { body, kernel } = attrsOf(node, fusedAttrs);
    return (kernel === undefined || SYMBOLIC_READY.has(kernel)) && body.nodes.every(readsSymbolicSizes);
  }
  // Wrap padding repeats the window a crop leaves, worked out at fixed sizes.
  if (node.op === 'pad' && node.attrs.mode === 'wrap') return false;
  return SYMBOLIC_READY.has(node.op) || (!byName[node.op] && getOp(node.op).spec.math !== undefined);
}

/** The kernels computing one node, dispatched in order. */
export function lowerNode(node: Node, ctx: LowerContext = {}): EmittedKernel[] {
  const byOp = byName[node.op];
  const k = byOp ? byOp(node, ctx) : undefined;
  if (k) return Array.isArray(k) ? k : [k];
  if (getOp(node.op).spec.math) return [lowerElementwise(node)];
  throw new KilnError(`no WebGPU kernel for op ${node.op} (node %${node.outputs[0]?.name})`);
}
