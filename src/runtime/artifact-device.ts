import { KilnError } from '../ir/errors.js';
import type { LoadedArtifact, LoadedVariant } from './artifact.js';
import { ArtifactError, type ArtifactManifest, type ManifestVariant, type Precision } from './manifest.js';
import type { StaticProgram } from './program.js';
import { bindingLimitAdvice, WGSL_ENABLE_FEATURES, type KernelReflection } from './reflect.js';

// What an artifact's variant needs of a device (features and limits, computed from its program
// and checked against its manifest), and the choice of the variant a device can run.

export interface ChooseOptions {
  /** Consider only the variant of this precision. */
  readonly precision?: Precision;
  /** Consider only these variants (by index), e.g. those that were loaded. */
  readonly among?: readonly number[];
}

/** What each required limit measures, for error messages and `kiln inspect`. */
export const LIMIT_MEANINGS: Readonly<Record<string, string>> = {
  maxBufferSize: 'largest buffer, bytes',
  maxStorageBufferBindingSize: 'largest buffer bound to one storage binding, bytes',
  maxUniformBufferBindingSize: 'largest uniform block, bytes',
  maxStorageBuffersPerShaderStage: 'most storage buffers one kernel binds',
  maxBindingsPerBindGroup: 'most bindings one kernel has',
  maxComputeInvocationsPerWorkgroup: 'largest workgroup, invocations',
  maxComputeWorkgroupSizeX: 'largest workgroup size in x',
  maxComputeWorkgroupSizeY: 'largest workgroup size in y',
  maxComputeWorkgroupSizeZ: 'largest workgroup size in z',
  maxComputeWorkgroupsPerDimension: 'most workgroups one dispatch has in a dimension',
};

/** What a device offers, as far as choosing a variant goes (a GpuDevice, or an adapter's traits). */
export interface DeviceOffer {
  readonly features: ReadonlySet<string>;
  readonly limits: Readonly<Record<string, number>>;
  describe(): string;
}

/** What `gpu` lacks to run `variant` (features, limits below what it needs); empty when it can run it. */
export function deviceProblems(variant: ManifestVariant, gpu: DeviceOffer): string[] {
  const problems: string[] = [];
  const missing = variant.requires.features.filter((f) => !gpu.features.has(f));
  if (missing.length) problems.push(`needs WebGPU feature(s) ${missing.join(', ')}`);
  for (const [key, need] of Object.entries(variant.requires.limits)) {
    const has = gpu.limits[key];
    if (has !== undefined && has < need) {
      const advice = key === 'maxStorageBufferBindingSize' ? `: ${bindingLimitAdvice(has)}` : '';
      problems.push(`needs ${key} >= ${need} (${LIMIT_MEANINGS[key] ?? 'as the manifest states'}), the device allows ${has}${advice}`);
    }
  }
  return problems;
}

/**
 * The index of the first variant (in the manifest's order of preference) that `gpu` can run.
 * Throws an ArtifactError saying what the device lacks for each candidate; creates nothing.
 */
export function chooseVariant(manifest: ArtifactManifest, gpu: DeviceOffer, opts: ChooseOptions = {}): number {
  let candidates = manifest.variants.map((_, i) => i);
  if (opts.among) candidates = candidates.filter((i) => opts.among!.includes(i));
  if (opts.precision) {
    const has = manifest.variants.map((v) => v.precision);
    candidates = candidates.filter((i) => manifest.variants[i]!.precision === opts.precision);
    if (candidates.length === 0) {
      throw new ArtifactError(`artifact '${manifest.model}' has no ${opts.precision} variant${has.includes(opts.precision) ? ' loaded' : ` (it has ${has.join(', ')})`}`);
    }
  }
  if (candidates.length === 0) throw new KilnError(`internal: no variant of artifact '${manifest.model}' to choose from`);
  const reasons: string[] = [];
  for (const i of candidates) {
    const problems = deviceProblems(manifest.variants[i]!, gpu);
    if (problems.length === 0) return i;
    reasons.push(candidates.length > 1 || manifest.variants.length > 1
      ? `its ${manifest.variants[i]!.precision} variant ${problems.join(' and ')}`
      : `it ${problems.join('; it ')}`);
  }
  throw new ArtifactError(`artifact '${manifest.model}' cannot run on this device (${gpu.describe()}): ${reasons.join('; ')}`);
}

/**
 * The first loaded variant of `artifact` that `gpu` can run (optionally: of one precision);
 * throws an ArtifactError listing everything the device lacks otherwise. Creates nothing.
 */
export function checkArtifactDevice(artifact: LoadedArtifact, gpu: DeviceOffer, opts: Omit<ChooseOptions, 'among'> = {}): LoadedVariant {
  const index = chooseVariant(artifact.manifest, gpu, { ...opts, among: artifact.variants.map((v) => v.index) });
  return artifact.variants.find((v) => v.index === index)!;
}

/** The WebGPU features a program needs: those it declares, and those its kernels `enable`. */
export function requiredFeatures(program: Pick<StaticProgram, 'requiredFeatures' | 'kernels'>): string[] {
  const features = new Set(program.requiredFeatures);
  for (const k of program.kernels) {
    for (const m of k.wgsl.matchAll(/^\s*enable\s+([^;]+);/gm)) {
      for (const ext of m[1]!.split(',').map((s) => s.trim())) {
        const f = WGSL_ENABLE_FEATURES[ext];
        if (f) features.add(f);
      }
    }
  }
  return [...features].sort();
}

/**
 * The device limits a program needs (see LIMIT_MEANINGS), from its buffers, its dispatches and
 * its kernels' reflections (one per kernel, in program order).
 */
export function requiredLimits(program: StaticProgram, reflections: readonly KernelReflection[]): Record<string, number> {
  const bytes = new Map(program.buffers.map((b) => [b.id, b.bytes]));
  const max = (xs: Iterable<number>) => {
    let m = 0;
    for (const x of xs) m = Math.max(m, x);
    return m;
  };
  const used = program.dispatches.map((d) => reflections[d.kernel]!);
  return {
    maxBufferSize: max(program.buffers.map((b) => b.bytes)),
    maxStorageBufferBindingSize: max(program.dispatches.flatMap((d) => d.buffers.map((id) => bytes.get(id) ?? 0))),
    maxUniformBufferBindingSize: max(program.dispatches.map((d, i) => (d.uniforms ? roundUp(Math.max(d.uniforms.length * 4, used[i]!.uniform?.minBytes ?? 0, 4), 16) : 0))),
    maxStorageBuffersPerShaderStage: max(used.map((r) => r.storageCount)),
    maxBindingsPerBindGroup: max(used.map((r) => r.bindings.length)),
    maxComputeInvocationsPerWorkgroup: max(used.map((r) => r.workgroupSize[0] * r.workgroupSize[1] * r.workgroupSize[2])),
    maxComputeWorkgroupSizeX: max(used.map((r) => r.workgroupSize[0])),
    maxComputeWorkgroupSizeY: max(used.map((r) => r.workgroupSize[1])),
    maxComputeWorkgroupSizeZ: max(used.map((r) => r.workgroupSize[2])),
    maxComputeWorkgroupsPerDimension: max(program.dispatches.flatMap((d) => d.workgroups)),
  };
}

function roundUp(n: number, k: number): number {
  return Math.ceil(n / k) * k;
}
