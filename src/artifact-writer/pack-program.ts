import { KilnError } from '../ir/errors.js';
import { WEIGHTS_FILE } from '../runtime/artifact.js';
import { requiredFeatures, requiredLimits } from '../runtime/artifact-device.js';
import { isSafeArtifactPath, type ManifestKernel, type ManifestProgram, type ManifestRequires, type ManifestWeights } from '../runtime/manifest.js';
import { validateProgram, type KernelSpec, type Program } from '../runtime/program.js';
import { reflectAll } from '../runtime/reflect.js';
import { sha256Hex } from '../runtime/sha256.js';
import { resolveForLoad } from '../runtime/sizes.js';

// One Program packed as artifact files (its kernels' WGSL and its weights file) and its manifest
// entry: a variant's program, or one WebGPU segment of a variant placed on several devices.

/** The files of an artifact being packed, by path: WGSL, weights and other binary files, and extras (IR dumps). */
export interface PackedFiles {
  readonly kernels: Record<string, string>;
  readonly weights: Record<string, Uint8Array>;
  readonly extras: Record<string, string>;
}

/** A packed program's manifest entry and what it needs of a device. */
export interface PackedProgram {
  readonly requires: ManifestRequires;
  readonly weights: ManifestWeights;
  readonly program: ManifestProgram;
}

/** Packs `program` into `files` under `folder` (kernels/NNN-name.wgsl, weights.bin). */
export async function packProgram(program: Program, folder: string, files: PackedFiles): Promise<PackedProgram> {
  validateProgram(program);
  const largest = resolveForLoad(program).program;
  const { weights: blob, kernels: kernelSpecs, ...rest } = program;
  const fileOf = kernelFileNames(kernelSpecs, folder);
  const manifestKernels: ManifestKernel[] = [];
  for (const [i, k] of kernelSpecs.entries()) {
    const { wgsl, ...meta } = k;
    const f = fileOf[i]!;
    files.kernels[f] = wgsl;
    manifestKernels.push({ ...meta, file: f, sha256: await sha256Hex(wgsl) });
  }
  const weightsFile = `${folder}${WEIGHTS_FILE}`;
  files.weights[weightsFile] = blob;
  return {
    requires: { features: requiredFeatures(largest), limits: requiredLimits(largest, reflectAll(kernelSpecs)) },
    weights: { file: weightsFile, bytes: blob.byteLength, sha256: await sha256Hex(blob), alignment: weightAlignment(program) },
    program: { ...(plainData(rest, 'program') as Omit<ManifestProgram, 'kernels'>), kernels: manifestKernels },
  };
}

/** `kernels/000-matmul.wgsl` (inside `folder`): numbered in program order, the name made safe for any file system. */
function kernelFileNames(kernels: readonly KernelSpec[], folder: string): string[] {
  const width = Math.max(3, String(kernels.length - 1).length);
  return kernels.map((k, i) => `${folder}kernels/${String(i).padStart(width, '0')}-${safeName(k.name, 60)}.wgsl`);
}

export function safeName(name: string, maxLength: number): string {
  const s = name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[._-]+/, '').slice(0, maxLength);
  const out = s || 'kernel';
  if (!isSafeArtifactPath(out)) throw new KilnError(`internal: '${out}' is not a safe file name`);
  return out;
}

/** The largest power of two (4..256) that every offset into the weights blob (weights, initial state) is a multiple of. */
function weightAlignment(program: Program): number {
  let align = 256;
  for (const b of program.buffers) {
    if (b.role !== 'weight' && b.role !== 'state') continue;
    while (align > 4 && b.weightOffset! % align !== 0) align /= 2;
  }
  return align;
}

/** `value` as plain JSON data; refuses binary data and non-finite numbers, which JSON would mangle silently. */
function plainData(value: unknown, path: string): unknown {
  return JSON.parse(JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
      throw new KilnError(`${path}.${key} holds binary data, which the artifact manifest cannot store; teach packArtifact to write it as a file`);
    }
    if (typeof v === 'number' && !Number.isFinite(v)) throw new KilnError(`${path}.${key} is ${v}, which JSON cannot store`);
    if (typeof v === 'function' || typeof v === 'bigint') throw new KilnError(`${path}.${key} is a ${typeof v}, which JSON cannot store`);
    return v;
  }));
}
