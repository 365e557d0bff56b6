import { KilnError } from './ir/errors.js';
import type { Graph } from './ir/graph.js';
import { dtypeBytes, numel } from './ir/types.js';
import type { AdapterClass } from './codegen/lower/heuristics.js';
import { isSoftware } from './runtime/adapter-info.js';

/** What the target adapter offers, as far as the precision choice is concerned. */
export interface AdapterTraits {
  readonly description: string;
  readonly architecture: string;
  readonly features: readonly string[];
  /** maxStorageBufferBindingSize of the adapter. */
  readonly maxBindingBytes: number;
}

export interface PrecisionChoice {
  readonly precision: 'fp32' | 'fp16';
  readonly reason: string;
}

/** The compile options that pick kernel variants for an adapter: its class, its optional features and the storage buffers a shader may bind. */
export function kernelTarget(
  a: Pick<AdapterTraits, 'architecture' | 'description'>, features: Iterable<string>, limits?: { readonly maxStorageBuffersPerShaderStage?: number },
): { readonly adapterClass: AdapterClass; readonly adapterFeatures: readonly string[]; readonly maxStorageBuffers?: number } {
  const storage = limits?.maxStorageBuffersPerShaderStage;
  return { adapterClass: isSoftware(a) ? 'software' : 'gpu', adapterFeatures: [...features].sort(), ...(storage !== undefined ? { maxStorageBuffers: storage } : {}) };
}

/** Bytes of the largest tensor of the graph stored in f32. */
function largestF32Bytes(g: Graph): number {
  return Math.max(0, ...g.values().map((v) => numel(v.type.shape) * Math.max(dtypeBytes(v.type.dtype), 4)));
}

/**
 * Resolves `--precision`: fp32 and fp16 are taken as asked (fp16 needs shader-f16); auto picks
 * f16 only where the adapter has shader-f16 and is not a software adapter (emulated f16 is
 * slower there), or where an f32 tensor would not fit one storage binding of the device.
 */
export function choosePrecision(mode: 'fp32' | 'fp16' | 'auto', adapter: AdapterTraits | null, graph: Graph): PrecisionChoice {
  const hasF16 = adapter?.features.includes('shader-f16') ?? false;
  if (mode === 'fp32') return { precision: 'fp32', reason: 'asked for' };
  if (mode === 'fp16') {
    if (!adapter) throw new KilnError('--precision fp16 needs a WebGPU adapter with shader-f16 to check against, and none was found (see Troubleshooting in the README)');
    if (!hasF16) throw new KilnError(`--precision fp16: the adapter (${adapter.description}) lacks the shader-f16 feature; use --precision fp32 or auto`);
    return { precision: 'fp16', reason: 'asked for' };
  }
  if (!adapter) return { precision: 'fp32', reason: 'no WebGPU adapter found to judge f16 by' };
  if (!hasF16) return { precision: 'fp32', reason: `the adapter (${adapter.description}) lacks shader-f16` };
  const biggest = largestF32Bytes(graph);
  if (biggest > adapter.maxBindingBytes) {
    return { precision: 'fp16', reason: `a ${biggest}-byte f32 tensor exceeds the device's ${adapter.maxBindingBytes}-byte storage binding limit` };
  }
  if (isSoftware(adapter)) return { precision: 'fp32', reason: `${adapter.description} is a software adapter: f16 math is emulated there and measured slower than f32` };
  return { precision: 'fp16', reason: `the adapter (${adapter.description}) has shader-f16 and runs f16 natively` };
}
