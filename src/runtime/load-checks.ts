import { KilnError } from '../ir/errors.js';
import { MissingFeatureError, type GpuDevice } from './device.js';
import type { KernelSpec, StaticProgram } from './program.js';
import { checkDispatch, checkKernelLimits, reflectKernel, WGSL_ENABLE_FEATURES, type KernelReflection } from './reflect.js';

// Whether a Program can run on a device, checked before anything is created on it: features,
// limits, every dispatch against its kernel's reflection; and WGSL compile errors as messages.

/** Identifies a distinct kernel: the same WGSL and entry point make the same pipeline. */
export const kernelKey = (k: KernelSpec): string => `${k.entryPoint}\u0000${k.wgsl}`;

/**
 * Reflects each distinct kernel of `program` and checks it, every dispatch and every buffer
 * against the device's limits; returns the reflections keyed by `kernelKey`. Creates nothing.
 */
export function checkProgramOnDevice(gpu: GpuDevice, program: StaticProgram): Map<string, KernelReflection> {
  const reflections = new Map<string, KernelReflection>();
  for (const k of program.kernels) {
    const key = kernelKey(k);
    if (reflections.has(key)) continue;
    const r = reflectKernel(k);
    checkKernelLimits(k, r, gpu.limits);
    reflections.set(key, r);
  }
  checkSizesOnDevice(gpu, program, reflections);
  return reflections;
}

/**
 * Checks every dispatch of `program` against its kernel's reflection and every buffer against
 * the device's limits: what depends on the sizes a program runs at. Creates nothing.
 */
export function checkSizesOnDevice(gpu: GpuDevice, program: StaticProgram, reflections: ReadonlyMap<string, KernelReflection>): void {
  const bufferSpecs = new Map(program.buffers.map((b) => [b.id, b]));
  const ctx = { buffer: (id: number) => bufferSpecs.get(id), limits: gpu.limits };
  program.dispatches.forEach((d, i) => {
    const k = program.kernels[d.kernel]!;
    checkDispatch(d, i, k, reflections.get(kernelKey(k))!, ctx);
  });
  const maxBuffer = gpu.limits['maxBufferSize'] ?? 2 ** 28;
  for (const b of program.buffers) {
    if (b.bytes > maxBuffer) {
      throw new KilnError(`program '${program.name}': buffer ${b.id}${b.label ? ` '${b.label}'` : ''} has ${b.bytes} bytes; this device allows ${maxBuffer}`);
    }
  }
}

/** Throws when the device lacks a feature the program or one of its kernels needs. */
export function checkFeatures(gpu: GpuDevice, program: StaticProgram): void {
  const missing = program.requiredFeatures.filter((f) => !gpu.features.has(f));
  if (missing.length) {
    throw new MissingFeatureError(
      `program '${program.name}' needs WebGPU feature(s) ${missing.join(', ')}, which this device (${gpu.describe()}) lacks`,
    );
  }
  for (const k of program.kernels) {
    for (const m of k.wgsl.matchAll(/^\s*enable\s+([^;]+);/gm)) {
      for (const ext of m[1]!.split(',').map((s) => s.trim())) {
        const feature = WGSL_ENABLE_FEATURES[ext];
        if (feature && !gpu.features.has(feature)) {
          throw new MissingFeatureError(`kernel '${k.name}' enables ${ext}, which needs the WebGPU feature '${feature}' this device (${gpu.describe()}) lacks`);
        }
      }
    }
  }
}

/**
 * Why a shader module did not compile, quoting the offending WGSL lines (generated WGSL is not
 * in front of the user), or undefined when it compiled.
 */
export function compileProblem(k: KernelSpec, err: GPUError | null, info: GPUCompilationInfo): string | undefined {
  const errors = info.messages.filter((m) => m.type === 'error');
  if (!err && errors.length === 0) return undefined;
  const source = k.wgsl.split('\n');
  const lines = errors.map((m) => {
    const text = source[m.lineNum - 1]?.trim();
    return `  ${m.lineNum}:${m.linePos}: ${m.message}${text ? `\n      | ${text}` : ''}`;
  });
  const detail = lines.length ? `\n${lines.join('\n')}` : `: ${err!.message}`;
  return `kernel '${k.name}': WGSL does not compile${detail}`;
}
