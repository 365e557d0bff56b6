import { KilnError } from '../ir/errors.js';
import { commonSubexpressionElimination } from './cse.js';
import { deadCodeElimination } from './dce.js';
import { foldConstants } from './fold-constants.js';
import type { Pass } from './pass.js';
import { simplify } from './simplify.js';
import { fuseElementwise } from './fuse.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { placeDevices } from './place-devices.js';
import { fuseSqueezeExcite } from './fuse-squeeze-excite.js';
import { fuseAttention, rowKernelTakes } from './fuse-attention.js';
import { fusePointwisePairs } from './fuse-pointwise-pairs.js';
import { fuseClassifierHead } from './fuse-classifier-head.js';
import { scheduleForMemory } from './schedule.js';
import { lowerFp16 } from './lower-fp16.js';
import { splitWeights } from './split-weights.js';
import { alignWeights } from './align-weights.js';
import { MIN_INT8_ELEMENTS, quantizeWeightsOf } from './quantize-weights.js';

/** The precision a pipeline is resolved for: lower-fp16 runs under fp16 only. */
export interface PipelinePrecision {
  readonly precision?: 'fp32' | 'fp16';
  /** Dtype of float graph inputs and outputs under fp16; default 'f32'. */
  readonly ioPrecision?: 'f32' | 'f16';
  /**
   * 'int8' stores the constant weights of matmul, gemm and conv2d as int8 (quantize-weights);
   * 'int4' those of matmul and gemm as 4-bit blocks, of conv2d as int8; default 'float'.
   */
  readonly weights?: 'float' | 'int8' | 'int4';
  /** Under int8 weights, weights of fewer elements stay float; default MIN_INT8_ELEMENTS (quantize-weights.ts says why). */
  readonly int8MinElements?: number;
  /**
   * The adapter the program is for: fuse-attention fuses every attention for GPUs, and on software
   * adapters with subgroups those the row kernel takes (rowKernelTakes): there the workgroup
   * kernel measured slower than the unfused matmuls and softmax (its per-row workgroup reductions
   * cost a barrier each).
   */
  readonly adapterClass?: 'gpu' | 'software';
  /** Optional WebGPU features of that adapter (`subgroups`). */
  readonly adapterFeatures?: readonly string[];
  /**
   * Storage buffers one shader may bind on that adapter (maxStorageBuffersPerShaderStage); default
   * 8, what WebGPU guarantees. fuse-pointwise-pairs makes kernels of two convolutions' tensors.
   */
  readonly maxStorageBuffers?: number;
}

/** A pass built for a precision; undefined where it does not run at that precision. */
type PassFactory = (p: PipelinePrecision) => Pass | undefined;

const fixed = (pass: Pass): [string, PassFactory] => [pass.name, () => pass];

/** Every pass by name, for `--passes=a,b,c` and dumps; lower-fp16 exists only under fp16. */
export const PASSES: ReadonlyMap<string, PassFactory> = new Map([
  ...[foldConstants, simplify, commonSubexpressionElimination, foldBatchNorm, deadCodeElimination, placeDevices, splitWeights, alignWeights].map(fixed),
  ['lower-fp16', (p: PipelinePrecision) => (p.precision === 'fp16' ? lowerFp16({ io: p.ioPrecision ?? 'f32' }) : undefined)],
  ['quantize-weights', (p: PipelinePrecision) => (p.weights === 'int8' || p.weights === 'int4' ? quantizeWeightsOf(p.int8MinElements ?? MIN_INT8_ELEMENTS, p.weights) : undefined)],
  ['fuse-attention', (p: PipelinePrecision) => (p.adapterClass === 'gpu' ? fuseAttention() : p.adapterClass === 'software' && p.adapterFeatures?.includes('subgroups') ? fuseAttention(rowKernelTakes) : undefined)],
  ['fuse-pointwise-pairs', (p: PipelinePrecision) => (p.adapterClass === 'software' ? fusePointwisePairs(p.maxStorageBuffers) : undefined)],
  ['fuse-classifier-head', (p: PipelinePrecision) => (p.adapterClass === 'software' ? fuseClassifierHead : undefined)],
  ...[fuseSqueezeExcite, fuseElementwise, scheduleForMemory].map(fixed),
]);

/** A pipeline step: a pass, or a pass run only under fp16. */
type Step = string | { readonly pass: string; readonly fp16: true };

// Lowering to f16 goes after canonicalisation (folding runs on exact f32 weights) and before
// placement and fusion; dce then drops the f32 constants it replaced.
const FP16_STEPS: readonly Step[] = [{ pass: 'lower-fp16', fp16: true }, { pass: 'dce', fp16: true }];

// split-weights follows placement (only WebGPU ops need their weights in bindings) and the
// final dtypes (f16 weights take half the bytes), and precedes fusion, which fuses its parts
// like any ops; the dce after it drops the whole weight they replaced.

// quantize-weights (under --weights int8 only) follows split-weights, so each part of a split
// weight gets its own scales, and fuse-se, whose kernel reads float weights (they stay float);
// it precedes fusion, which folds each dequantize_int8 into the kernel reading the weight.

// align-weights follows them (a split part is laid out on its own; a quantized weight is no
// longer a float constant) and the last fold-constants (which would fold its slice or transpose
// back), and precedes fusion, which makes the matmul read its weight through that view.

/** Named pipelines: -O0 only tidies, places and splits oversized weights; -O2 (default) canonicalises, places, fuses and orders for memory. */
export const PIPELINES: Readonly<Record<string, readonly Step[]>> = {
  O0: ['dce', ...FP16_STEPS, 'place-devices', 'split-weights', 'quantize-weights', 'dce'],
  O2: ['fold-constants', 'simplify', 'cse', 'fold-batchnorm', 'fold-constants', 'dce', ...FP16_STEPS, 'place-devices', 'split-weights', 'fuse-attention', 'fuse-se', 'quantize-weights', 'align-weights', 'fuse', 'fuse-pointwise-pairs', 'dce', 'fuse-classifier-head', 'schedule'],
};

function stepNames(steps: readonly Step[], fp16: boolean): string[] {
  return steps.flatMap((s) => (typeof s === 'string' ? [s] : fp16 ? [s.pass] : []));
}

/**
 * The passes of a named pipeline (`O2`) or of a comma-separated list of pass names, for a
 * precision. A list runs as given, except that under fp16 a list without lower-fp16 gets it
 * where the named pipelines have it (before place-devices, or last), and under fp32 lower-fp16
 * is absent.
 */
export function resolvePipeline(spec: string, precision: PipelinePrecision = {}): Pass[] {
  const fp16 = precision.precision === 'fp16';
  const named = PIPELINES[spec];
  let names: string[];
  if (named) {
    names = stepNames(named, fp16);
  } else {
    names = spec.split(',').map((s) => s.trim()).filter(Boolean);
    if (fp16 && !names.includes('lower-fp16')) {
      const at = names.indexOf('place-devices');
      names.splice(at < 0 ? names.length : at, 0, ...stepNames(FP16_STEPS, true));
    }
  }
  return names.flatMap((n) => {
    const make = PASSES.get(n);
    if (!make) throw new KilnError(`unknown pass '${n}' (passes: ${[...PASSES.keys()].join(', ')}; pipelines: ${Object.keys(PIPELINES).join(', ')})`);
    return make(precision) ?? [];
  });
}
