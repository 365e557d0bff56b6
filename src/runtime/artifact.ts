import { KilnError } from '../ir/errors.js';
import { requiredFeatures, requiredLimits } from './artifact-device.js';
import { ArtifactError, manifestDigestText, parseManifest, type ArtifactManifest, type ManifestVariant, type Precision } from './manifest.js';
import { PROGRAM_VERSION, validateProgram, type KernelSpec, type Program } from './program.js';
import { checkDispatch, reflectAll } from './reflect.js';
import { sha256Hex } from './sha256.js';
import { resolveForLoad } from './sizes.js';

// An artifact is a model compiled into one or more variants (e.g. f16 with an f32 fallback), as
// files: manifest.json, and per variant its kernels' WGSL, its weights file and optionally its IR.
// The first variant's files sit at the root (kernels/NNN-name.wgsl, weights.bin, ir/*.kir), each
// further variant's under a folder named by its precision (fp32/kernels/..., fp32/weights.bin).
// This file loads those files back, validating everything before any GPU work (the compiler
// writes them: artifact-writer/). It imports nothing of Node: a browser page loads artifacts
// through the same code (artifact-node.ts adds folders on disk).

/** The files of an artifact, however they were obtained (a folder, fetch, a bundler). */
export interface ArtifactFiles {
  /** manifest.json: its text, its bytes, or the parsed object. */
  readonly manifest: string | Uint8Array | ArtifactManifest;
  /** Each kernel's WGSL by its file name in the manifest (e.g. 'kernels/000-matmul.wgsl'). */
  readonly kernels: Readonly<Record<string, string | Uint8Array>>;
  /**
   * The weights files by name (`{ 'weights.bin': ..., 'fp32/weights.bin': ... }`); bytes alone
   * are the first variant's weights file (all that a one-variant artifact has).
   */
  readonly weights: Uint8Array | ArrayBuffer | Readonly<Record<string, Uint8Array | ArrayBuffer>>;
}

/** One validated variant of an artifact, ready for Session.create on a device that can run it. */
export interface LoadedVariant {
  /** Its position in the manifest's variants (0: the preferred one). */
  readonly index: number;
  readonly precision: Precision;
  /** Its manifest entry (what it requires, its weights file, its IR files). */
  readonly spec: ManifestVariant;
  readonly program: Program;
}

/** A validated artifact: the manifest and the variants that were read and checked, in order. */
export interface LoadedArtifact {
  readonly manifest: ArtifactManifest;
  /** All variants (loadArtifact's default), or those asked for; never empty. */
  readonly variants: readonly LoadedVariant[];
}

export interface LoadOptions {
  /** Indexes of the variants to validate (default: all); the others' files are not needed. */
  readonly variants?: readonly number[];
}

export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'manifest.json';

// Device-independent validation checks bindings, not sizes against a device: lift the size limits.
const NO_DEVICE_LIMITS: Readonly<Record<string, number>> = {
  maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER,
  maxUniformBufferBindingSize: Number.MAX_SAFE_INTEGER,
  maxComputeWorkgroupsPerDimension: Number.MAX_SAFE_INTEGER,
};

/** The files a variant needs read: its kernels' and its weights file. */
export function variantFiles(v: ManifestVariant): { kernels: string[]; weights: string } {
  return { kernels: [...new Set(v.program.kernels.map((k) => k.file))], weights: v.weights.file };
}

/**
 * Validates artifact files without a device and returns the Programs they hold: format version,
 * and for each variant asked for (default all) its weights' size and hash, every kernel file's
 * hash, every buffer id, offset and size, and every dispatch's bindings against its kernel's WGSL
 * (by reflection). Throws an ArtifactError saying what is wrong; nothing is created on any GPU.
 */
export async function loadArtifact(files: ArtifactFiles, opts: LoadOptions = {}): Promise<LoadedArtifact> {
  const manifest = parseManifest(files.manifest);
  if (manifest.sha256 !== undefined) {
    const hash = await sha256Hex(manifestDigestText(manifest));
    if (hash !== manifest.sha256) {
      throw new ArtifactError(`manifest.json was modified or corrupted: the SHA-256 of its contents is ${hash} but it says ${manifest.sha256} (recompile the model)`);
    }
  }
  const indexes = opts.variants ?? manifest.variants.map((_, i) => i);
  if (indexes.length === 0) throw new KilnError('loadArtifact: no variant asked for');
  const variants: LoadedVariant[] = [];
  for (const i of [...new Set(indexes)].sort((a, b) => a - b)) {
    if (!Number.isInteger(i) || i < 0 || i >= manifest.variants.length) {
      throw new KilnError(`loadArtifact: artifact '${manifest.model}' has no variant #${i} (it has ${manifest.variants.length})`);
    }
    variants.push(await loadVariant(manifest, i, files));
  }
  return { manifest, variants };
}

/** `artifact 'm'`, and which variant when there are several. */
function variantName(manifest: ArtifactManifest, index: number): string {
  const v = manifest.variants[index]!;
  return manifest.variants.length > 1 ? `artifact '${manifest.model}' (${v.precision} variant)` : `artifact '${manifest.model}'`;
}

/** The bytes of the weights file `name` among the given files. */
function weightsBytes(files: ArtifactFiles, manifest: ArtifactManifest, name: string): Uint8Array | undefined {
  const w = files.weights;
  if (w instanceof Uint8Array || w instanceof ArrayBuffer) {
    if (name !== manifest.variants[0]!.weights.file) return undefined;
    return w instanceof ArrayBuffer ? new Uint8Array(w) : w;
  }
  if (typeof w !== 'object' || w === null) return undefined;
  const b = Object.hasOwn(w, name) ? w[name] : undefined;
  return b instanceof ArrayBuffer ? new Uint8Array(b) : b;
}

async function loadVariant(manifest: ArtifactManifest, index: number, files: ArtifactFiles): Promise<LoadedVariant> {
  const spec = manifest.variants[index]!;
  const what = variantName(manifest, index);
  const fail = (msg: string): never => {
    throw new ArtifactError(`${what}: ${msg}`);
  };
  const p = spec.program;
  if (p.version !== PROGRAM_VERSION) {
    fail(`its program format version is ${p.version}; this runtime runs version ${PROGRAM_VERSION} (recompile the model with this version of kiln)`);
  }

  const wfile = spec.weights.file;
  const weights = weightsBytes(files, manifest, wfile);
  if (weights === undefined) fail(`its weights file ${wfile} is missing`);
  if (!(weights instanceof Uint8Array)) fail(`${wfile} must be given as bytes (Uint8Array or ArrayBuffer)`);
  if (weights!.byteLength !== spec.weights.bytes) {
    fail(`${wfile} has ${weights!.byteLength} bytes but the manifest says ${spec.weights.bytes}: the file is ${weights!.byteLength < spec.weights.bytes ? 'truncated' : 'too long'}`);
  }
  const weightsHash = await sha256Hex(weights!);
  if (weightsHash !== spec.weights.sha256) {
    fail(`${wfile} is corrupted: its SHA-256 is ${weightsHash} but the manifest says ${spec.weights.sha256}`);
  }

  const kernels: KernelSpec[] = [];
  for (const [i, k] of p.kernels.entries()) {
    const content = Object.hasOwn(files.kernels, k.file) ? files.kernels[k.file] : undefined;
    if (content === undefined) fail(`kernel #${i} '${k.name}': its file ${k.file} is missing`);
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content!;
    const hash = await sha256Hex(bytes);
    if (hash !== k.sha256) fail(`kernel #${i} '${k.name}': ${k.file} was modified or corrupted: its SHA-256 is ${hash} but the manifest says ${k.sha256}`);
    const { file: _file, sha256: _sha, ...kernel } = k;
    kernels.push({ ...kernel, wgsl: typeof content === 'string' ? content : new TextDecoder().decode(bytes) });
  }

  const program: Program = { ...p, kernels, weights: weights! };
  const reflections = rethrowAsArtifactError(what, () => {
    validateProgram(program);
    return reflectAll(kernels);
  });
  const align = spec.weights.alignment;
  if (align < 4 || (align & (align - 1)) !== 0) fail(`weights.alignment ${align} is not a power of two of at least 4`);
  for (const b of program.buffers) {
    if ((b.role === 'weight' || b.role === 'state') && b.weightOffset! % align !== 0) {
      fail(`buffer ${b.id}${b.label ? ` '${b.label}'` : ''}: weight offset ${b.weightOffset} is not a multiple of the stated alignment ${align}`);
    }
  }
  const bufferBytes = new Map(program.buffers.map((b) => [b.id, b.bytes]));
  // Checked, and its needs computed, at the sizes buffers are made for, every kernel variant too.
  const largest = rethrowAsArtifactError(what, () => resolveForLoad(program).program);
  rethrowAsArtifactError(what, () => {
    largest.dispatches.forEach((d, i) => {
      const k = program.kernels[d.kernel]!;
      checkDispatch(d, i, k, reflections[d.kernel]!, { bufferBytes: (id) => bufferBytes.get(id), limits: NO_DEVICE_LIMITS });
    });
  });
  const roles = new Map(program.buffers.map((b) => [b.id, b.role]));
  for (const [ref, id] of Object.entries(spec.ir?.weightRefs ?? {})) {
    if (roles.get(id) !== 'weight') fail(`ir.weightRefs maps '${ref}' to buffer ${id}, which is not a weight buffer`);
  }

  // What the manifest says the program needs must be what it needs, or device checks would lie.
  const features = requiredFeatures(largest);
  const stated = [...spec.requires.features].sort();
  if (features.join(',') !== stated.join(',')) {
    fail(`requires.features [${stated.join(', ')}] differs from what its kernels need [${features.join(', ')}]`);
  }
  const limits = requiredLimits(largest, reflections);
  for (const [key, need] of Object.entries(limits)) {
    if (spec.requires.limits[key] !== need) fail(`requires.limits.${key} is ${spec.requires.limits[key] ?? 'missing'} but its program needs ${need}`);
  }
  return { index, precision: spec.precision, spec, program };
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

