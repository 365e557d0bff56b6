import { KilnError } from '../ir/errors.js';
import type { GpuDevice } from './device.js';
import {
  ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, ArtifactError, formatManifest, isSafeArtifactPath, parseManifest,
  type ArtifactManifest, type ManifestCompiler, type ManifestKernel, type ManifestProgram,
} from './manifest.js';
import { PROGRAM_VERSION, validateProgram, type KernelSpec, type Program } from './program.js';
import { checkDispatch, reflectKernel, type KernelReflection } from './reflect.js';
import { sha256Hex } from './sha256.js';
import { KILN_VERSION } from './version.js';

// An artifact is a compiled Program as files: manifest.json, kernels/NNN-name.wgsl, weights.bin
// (and optionally ir/*.kir). This file packs a Program into those files and loads them back,
// validating everything before any GPU work. It imports nothing of Node: a browser page loads
// artifacts through the same code (artifact-node.ts adds folders on disk).

/** The files of an artifact, however they were obtained (a folder, fetch, a bundler). */
export interface ArtifactFiles {
  /** manifest.json: its text, its bytes, or the parsed object. */
  readonly manifest: string | Uint8Array | ArtifactManifest;
  /** Each kernel's WGSL by its file name in the manifest (e.g. 'kernels/000-matmul.wgsl'). */
  readonly kernels: Readonly<Record<string, string | Uint8Array>>;
  /** The bytes of weights.bin. */
  readonly weights: Uint8Array | ArrayBuffer;
}

/** A packed artifact: its files, plus extra files (IR dumps) the runtime does not read. */
export interface PackedArtifact extends ArtifactFiles {
  readonly manifest: ArtifactManifest;
  readonly kernels: Readonly<Record<string, string>>;
  readonly weights: Uint8Array;
  readonly extras: Readonly<Record<string, string>>;
}

/** A validated artifact, ready for Session.create on a device that passes checkArtifactDevice. */
export interface LoadedArtifact {
  readonly manifest: ArtifactManifest;
  readonly program: Program;
}

export interface PackOptions {
  /** Who compiled it; the version defaults to this kiln's, the pipeline to 'unknown'. */
  readonly compiler?: Partial<ManifestCompiler>;
  /** IR text to keep in ir/: the final graph (and where its elided weights live), and per-pass dumps. */
  readonly ir?: {
    readonly final?: string;
    readonly weightRefs?: Readonly<Record<string, number>>;
    readonly passes?: readonly { readonly file: string; readonly text: string }[];
  };
}

export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'manifest.json';

/** WGSL `enable` directives and the WebGPU feature each needs (as load.ts checks them at load). */
const WGSL_ENABLE_FEATURES: Readonly<Record<string, string>> = { f16: 'shader-f16', subgroups: 'subgroups' };

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

// Device-independent validation checks bindings, not sizes against a device: lift the size limits.
const NO_DEVICE_LIMITS: Readonly<Record<string, number>> = {
  maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER,
  maxUniformBufferBindingSize: Number.MAX_SAFE_INTEGER,
  maxComputeWorkgroupsPerDimension: Number.MAX_SAFE_INTEGER,
};

/**
 * Packs a Program as artifact files: one WGSL file per kernel, the weights blob, and a manifest
 * with every hash and what the program needs of a device. The Program is stored generically (every
 * field but its binary parts goes to the manifest as JSON), and the result is validated exactly as
 * loadArtifact will, so a program the runtime would refuse is never written.
 */
export async function packArtifact(program: Program, opts: PackOptions = {}): Promise<PackedArtifact> {
  validateProgram(program);
  const { weights, kernels: kernelSpecs, ...rest } = program;
  const fileOf = kernelFileNames(kernelSpecs);
  const kernels: Record<string, string> = {};
  const manifestKernels: ManifestKernel[] = [];
  for (const [i, k] of kernelSpecs.entries()) {
    const { wgsl, ...meta } = k;
    const file = fileOf[i]!;
    kernels[file] = wgsl;
    manifestKernels.push({ ...meta, file, sha256: await sha256Hex(wgsl) });
  }
  const extras: Record<string, string> = {};
  const ir = opts.ir;
  let finalFile: string | undefined;
  if (ir?.final !== undefined) extras[(finalFile = 'ir/final.kir')] = ir.final;
  const passFiles = (ir?.passes ?? []).map((p) => {
    const f = `ir/${safeName(p.file.replace(/\.kir$/, ''), 80)}.kir`;
    extras[f] = p.text;
    return f;
  });
  const reflections = reflectAll(kernelSpecs);
  const manifest: ArtifactManifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    model: program.name,
    compiler: { name: 'kiln', version: KILN_VERSION, pipeline: 'unknown', ...opts.compiler },
    requires: { features: requiredFeatures(program), limits: requiredLimits(program, reflections) },
    weights: { file: WEIGHTS_FILE, bytes: weights.byteLength, sha256: await sha256Hex(weights), alignment: weightAlignment(program) },
    program: { ...(plainData(rest, 'program') as Omit<ManifestProgram, 'kernels'>), kernels: manifestKernels },
    ...(ir && (finalFile || passFiles.length) ? {
      ir: {
        ...(finalFile ? { final: finalFile } : {}),
        ...(ir.weightRefs ? { weightRefs: { ...ir.weightRefs } } : {}),
        ...(passFiles.length ? { passes: passFiles } : {}),
      },
    } : {}),
  };
  const packed: PackedArtifact = { manifest: parseManifest(manifest), kernels, weights, extras };
  await loadArtifact(packed);
  return packed;
}

/** The manifest's text as written to manifest.json. */
export function manifestText(manifest: ArtifactManifest): string {
  return formatManifest(manifest);
}

/**
 * Validates artifact files without a device and returns the Program they hold: format version,
 * weights size and hash, every kernel file's hash, every buffer id, offset and size, and every
 * dispatch's bindings against its kernel's WGSL (by reflection). Throws an ArtifactError saying
 * what is wrong; nothing is created on any GPU.
 */
export async function loadArtifact(files: ArtifactFiles): Promise<LoadedArtifact> {
  const manifest = parseManifest(files.manifest);
  const what = `artifact '${manifest.model}'`;
  const fail = (msg: string): never => {
    throw new ArtifactError(`${what}: ${msg}`);
  };
  const p = manifest.program;
  if (p.version !== PROGRAM_VERSION) {
    fail(`its program format version is ${p.version}; this runtime runs version ${PROGRAM_VERSION} (recompile the model with this version of kiln)`);
  }

  const weights = files.weights instanceof ArrayBuffer ? new Uint8Array(files.weights) : files.weights;
  if (!(weights instanceof Uint8Array)) fail(`${manifest.weights.file} must be given as bytes (Uint8Array or ArrayBuffer)`);
  if (weights.byteLength !== manifest.weights.bytes) {
    fail(`${manifest.weights.file} has ${weights.byteLength} bytes but the manifest says ${manifest.weights.bytes}: the file is ${weights.byteLength < manifest.weights.bytes ? 'truncated' : 'too long'}`);
  }
  const weightsHash = await sha256Hex(weights);
  if (weightsHash !== manifest.weights.sha256) {
    fail(`${manifest.weights.file} is corrupted: its SHA-256 is ${weightsHash} but the manifest says ${manifest.weights.sha256}`);
  }

  const kernels: KernelSpec[] = [];
  for (const [i, k] of p.kernels.entries()) {
    const content = Object.hasOwn(files.kernels, k.file) ? files.kernels[k.file] : undefined;
    if (content === undefined) fail(`kernel #${i} '${k.name}': its file ${k.file} is missing`);
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content!;
    const hash = await sha256Hex(bytes);
    if (hash !== k.sha256) fail(`kernel #${i} '${k.name}': ${k.file} was modified or corrupted: its SHA-256 is ${hash} but the manifest says ${k.sha256}`);
    const { file: _file, sha256: _sha, ...spec } = k;
    kernels.push({ ...spec, wgsl: typeof content === 'string' ? content : new TextDecoder().decode(bytes) });
  }

  const program: Program = { ...p, kernels, weights };
  const reflections = rethrowAsArtifactError(what, () => {
    validateProgram(program);
    return reflectAll(kernels);
  });
  const align = manifest.weights.alignment;
  if (align < 4 || (align & (align - 1)) !== 0) fail(`weights.alignment ${align} is not a power of two of at least 4`);
  for (const b of program.buffers) {
    if ((b.role === 'weight' || b.role === 'state') && b.weightOffset! % align !== 0) {
      fail(`buffer ${b.id}${b.label ? ` '${b.label}'` : ''}: weight offset ${b.weightOffset} is not a multiple of the stated alignment ${align}`);
    }
  }
  const bufferBytes = new Map(program.buffers.map((b) => [b.id, b.bytes]));
  rethrowAsArtifactError(what, () => {
    program.dispatches.forEach((d, i) => {
      const k = program.kernels[d.kernel]!;
      checkDispatch(d, i, k, reflections[d.kernel]!, { bufferBytes: (id) => bufferBytes.get(id), limits: NO_DEVICE_LIMITS });
    });
  });
  const roles = new Map(program.buffers.map((b) => [b.id, b.role]));
  for (const [ref, id] of Object.entries(manifest.ir?.weightRefs ?? {})) {
    if (roles.get(id) !== 'weight') fail(`ir.weightRefs maps '${ref}' to buffer ${id}, which is not a weight buffer`);
  }

  // What the manifest says the program needs must be what it needs, or device checks would lie.
  const features = requiredFeatures(program);
  const stated = [...manifest.requires.features].sort();
  if (features.join(',') !== stated.join(',')) {
    fail(`requires.features [${stated.join(', ')}] differs from what its kernels need [${features.join(', ')}]`);
  }
  const limits = requiredLimits(program, reflections);
  for (const [key, need] of Object.entries(limits)) {
    if (manifest.requires.limits[key] !== need) fail(`requires.limits.${key} is ${manifest.requires.limits[key] ?? 'missing'} but its program needs ${need}`);
  }
  return { manifest, program };
}

/**
 * Throws an ArtifactError listing everything `gpu` lacks that the artifact needs (features, and
 * each limit below what the manifest requires); creates nothing on the device.
 */
export function checkArtifactDevice(artifact: LoadedArtifact, gpu: GpuDevice): void {
  const { manifest } = artifact;
  const problems: string[] = [];
  const missing = manifest.requires.features.filter((f) => !gpu.features.has(f));
  if (missing.length) problems.push(`it needs WebGPU feature(s) ${missing.join(', ')}`);
  for (const [key, need] of Object.entries(manifest.requires.limits)) {
    const has = gpu.limits[key];
    if (has !== undefined && has < need) {
      problems.push(`it needs ${key} >= ${need} (${LIMIT_MEANINGS[key] ?? 'as the manifest states'}), the device allows ${has}`);
    }
  }
  if (problems.length) {
    throw new ArtifactError(`artifact '${manifest.model}' cannot run on this device (${gpu.describe()}): ${problems.join('; ')}`);
  }
}

/** The WebGPU features a program needs: those it declares, and those its kernels `enable`. */
export function requiredFeatures(program: Program): string[] {
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
export function requiredLimits(program: Program, reflections: readonly KernelReflection[]): Record<string, number> {
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

/** Every kernel reflected (identical WGSL and entry point reflected once), in program order. */
function reflectAll(kernels: readonly KernelSpec[]): KernelReflection[] {
  const seen = new Map<string, KernelReflection>();
  return kernels.map((k) => {
    const key = `${k.entryPoint}\u0000${k.wgsl}`;
    let r = seen.get(key);
    if (!r) seen.set(key, (r = reflectKernel(k)));
    return r;
  });
}

/** `kernels/000-matmul.wgsl`: numbered in program order, the name made safe for any file system. */
function kernelFileNames(kernels: readonly KernelSpec[]): string[] {
  const width = Math.max(3, String(kernels.length - 1).length);
  return kernels.map((k, i) => `kernels/${String(i).padStart(width, '0')}-${safeName(k.name, 60)}.wgsl`);
}

function safeName(name: string, maxLength: number): string {
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

/** Runs `f`, turning a KilnError it throws into an ArtifactError about `what` (keeping it as the cause). */
function rethrowAsArtifactError<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KilnError && !(e instanceof ArtifactError)) throw new ArtifactError(`${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

function roundUp(n: number, k: number): number {
  return Math.ceil(n / k) * k;
}
