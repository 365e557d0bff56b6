import { UsageError } from './errors.js';
import type { Graph } from '../ir/graph.js';
import { listAdapters } from '../runtime/device.js';
import { choosePrecision, type AdapterTraits } from '../precision.js';

// `--precision fp32|fp16|auto` and `--io-precision fp32|fp16`, shared by kiln compile and kiln run.
// fp32 needs no adapter; fp16 and auto are judged against the adapter this machine would run on
// (the default one, as acquireDevice() picks it).

/** The options (parseArgs form). */
export const precisionArgs = {
  precision: { type: 'string' as const },
  'io-precision': { type: 'string' as const },
};

export const precisionUsage = [
  'Precision options:',
  '  --precision fp32|fp16|auto   float precision of weights and math (default fp32). fp16 stores',
  '                               weights and activations in f16, accumulating matmuls and reductions',
  '                               and computing softmax, norms and exp/log in f32; it needs an adapter',
  '                               with shader-f16. auto picks f16 where the adapter has shader-f16',
  '                               and runs it natively (not on software adapters, where f16 is',
  "                               emulated and slower), or where f32 tensors would not fit the",
  "                               device's storage binding limit; it says which it picked and why.",
  '  --io-precision fp32|fp16     dtype of float inputs and outputs under fp16 (default fp32)',
].join('\n');

export type PrecisionMode = 'fp32' | 'fp16' | 'auto';

/** The precision a compile uses, and why. */
export interface ResolvedPrecision {
  readonly precision: 'fp32' | 'fp16';
  /** Dtype of float graph inputs and outputs (f16 only under fp16 with --io-precision fp16). */
  readonly io: 'f32' | 'f16';
  /** `fp16 (auto: ...)`: what was picked and why, for the user; undefined when nothing was asked. */
  readonly line: string | undefined;
}

/** --precision and --io-precision as given (validated), undefined where absent. */
export function precisionFlags(values: Record<string, unknown>): { mode: PrecisionMode | undefined; io: 'fp32' | 'fp16' | undefined } {
  const mode = values.precision as string | undefined;
  if (mode !== undefined && !['fp32', 'fp16', 'auto'].includes(mode)) throw new UsageError(`--precision takes fp32, fp16 or auto, got '${mode}'`);
  const io = values['io-precision'] as string | undefined;
  if (io !== undefined && !['fp32', 'fp16'].includes(io)) throw new UsageError(`--io-precision takes fp32 or fp16, got '${io}'`);
  if (io === 'fp16' && (mode === undefined || mode === 'fp32')) {
    throw new UsageError('--io-precision fp16 applies to an f16 compile: add --precision fp16 (or auto)');
  }
  return { mode: mode as PrecisionMode | undefined, io: io as 'fp32' | 'fp16' | undefined };
}

/** The default adapter's traits as choosePrecision wants them, or null when Dawn finds none. */
export async function defaultAdapterTraits(): Promise<AdapterTraits | null> {
  let adapters;
  try {
    adapters = await listAdapters();
  } catch {
    return null;
  }
  const a = adapters[0];
  if (!a) return null;
  return {
    description: a.description || [a.vendor, a.device].filter(Boolean).join(' ') || 'unknown adapter',
    architecture: a.architecture,
    features: a.features,
    maxBindingBytes: a.limits['maxStorageBufferBindingSize'] ?? 128 * 2 ** 20,
  };
}

/**
 * Resolves --precision and --io-precision for `graph`: fp32 (the default) without looking at
 * any adapter; fp16 only on an adapter with shader-f16 (a clear error otherwise); auto by
 * choosePrecision on the default adapter.
 */
export async function resolvePrecision(values: Record<string, unknown>, graph: Graph): Promise<ResolvedPrecision> {
  const { mode, io } = precisionFlags(values);
  if (mode === undefined) return { precision: 'fp32', io: 'f32', line: undefined };
  const adapter = mode === 'fp32' ? null : await defaultAdapterTraits();
  const choice = choosePrecision(mode, adapter, graph);
  const f16Io = choice.precision === 'fp16' && io === 'fp16';
  const ioNote = io === 'fp16' && !f16Io ? '; inputs and outputs stay f32' : f16Io ? '; inputs and outputs in f16' : '';
  const why = mode === 'auto' ? `auto: ${choice.reason}` : choice.reason;
  return { precision: choice.precision, io: f16Io ? 'f16' : 'f32', line: `${choice.precision} (${why}${ioNote})` };
}
