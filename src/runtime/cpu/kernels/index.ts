import { KilnError } from '../../../ir/errors.js';
import { getOp, opTable } from '../../../ir/ops/index.js';
import { castKernels } from './cast.js';
import { convKernels } from './conv.js';
import { deformConvKernels } from './deform-conv.js';
import { elementwise } from './elementwise.js';
import type { CpuKernel } from './kernel.js';
import { matmulKernels } from './matmul.js';
import { movementKernels } from './movement.js';
import { concatSplitKernels } from './concat-split.js';
import { slicePadKernels } from './slice-pad.js';
import { gatherKernels } from './gather.js';
import { indexingKernels } from './indexing.js';
import { scanKernels } from './scan.js';
import { tfidfKernels } from './tfidf.js';
import { treeEnsembleKernels } from './tree-ensemble.js';
import { labelEncoderKernels } from './label-encoder.js';
import { dataDependentKernels } from './data-dependent.js';
import { resizeKernels } from './resize.js';
import { gridSampleKernels } from './grid-sample.js';
import { roiAlignKernels } from './roi-align.js';
import { poolKernels } from './pool.js';
import { poolIndicesKernels } from './pool-indices.js';
import { reduceKernels, reduction } from './reduce.js';
import { softmaxKernels } from './softmax.js';
import { normKernels } from './norm.js';
import { gemmKernels } from './gemm.js';
import { linalgKernels } from './linalg.js';
import { sourceKernels } from './source.js';
import { convBackwardKernels } from './conv-backward.js';
import { poolBackwardKernels } from './pool-backward.js';
import { linearAttentionKernels } from './linear-attention.js';
import { quantizeKernels } from './quantize.js';
import { stringKernels } from './strings.js';

export type { CpuKernel } from './kernel.js';

/** Kernels of ops that are not covered by their scalar or reduction math; one table per family. */
const byName = opTable<CpuKernel>('CPU kernel', [
  sourceKernels,
  castKernels,
  matmulKernels,
  movementKernels,
  concatSplitKernels,
  slicePadKernels,
  gatherKernels,
  indexingKernels,
  scanKernels,
  tfidfKernels,
  treeEnsembleKernels,
  labelEncoderKernels,
  dataDependentKernels,
  resizeKernels,
  gridSampleKernels,
  roiAlignKernels,
  convKernels,
  deformConvKernels,
  poolKernels,
  poolIndicesKernels,
  reduceKernels,
  softmaxKernels,
  normKernels,
  gemmKernels,
  linalgKernels,
  convBackwardKernels,
  poolBackwardKernels,
  linearAttentionKernels,
  quantizeKernels,
  stringKernels,
]);

/** The reference kernel of an op: by name, else from its scalar or reduction math. */
function kernelOf(op: string): CpuKernel | undefined {
  const k = byName[op];
  if (k) return k;
  const def = getOp(op);
  if (def.spec.math) return elementwise;
  if (def.spec.reduce) return reduction;
  return undefined;
}

/** Whether the op has a reference kernel (the capability matrix asks). */
export function hasCpuKernel(op: string): boolean {
  return kernelOf(op) !== undefined;
}

export function cpuKernelFor(op: string): CpuKernel {
  const k = kernelOf(op);
  if (!k) throw new KilnError(`op ${op} has no CPU kernel`);
  return k;
}
