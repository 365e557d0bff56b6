import { KilnError } from '../ir/errors.js';
import {
  ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, ArtifactError, formatManifest, isSafeArtifactPath, manifestDigestText, parseManifest,
  type ArtifactManifest, type ManifestCompiler, type ManifestKernel, type ManifestProgram, type ManifestTensor,
  type ManifestVariant, type Precision,
} from './manifest.js';
import { PROGRAM_VERSION, validateProgram, type KernelSpec, type Program } from './program.js';
import { checkDispatch, reflectKernel, type KernelReflection } from './reflect.js';
import { sha256Hex } from './sha256.js';
import { KILN_VERSION } from './version.js';

// An artifact is a model compiled into one or more variants (e.g. f16 with an f32 fallback), as
// files: manifest.json, and per variant its kernels' WGSL, its weights file and optionally its IR.
// The first variant's files sit at the root (kernels/NNN-name.wgsl, weights.bin, ir/*.kir), each
// further variant's under a folder named by its precision (fp32/kernels/..., fp32/weights.bin).
// This file packs Programs into those files and loads them back, validating everything before
// any GPU work. It imports nothing of Node: a browser page loads artifacts through the same code
// (artifact-node.ts adds folders on disk).

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

/** A packed artifact: its files, plus extra files (IR dumps) the runtime does not read. */
export interface PackedArtifact extends ArtifactFiles {
  readonly manifest: ArtifactManifest;
  readonly kernels: Readonly<Record<string, string>>;
  readonly weights: Readonly<Record<string, Uint8Array>>;
  readonly extras: Readonly<Record<string, string>>;
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

/** IR text to keep with a variant: the final graph (and where its elided weights live), and per-pass dumps. */
export interface IrSource {
  readonly final?: string;
  readonly weightRefs?: Readonly<Record<string, number>>;
  readonly passes?: readonly { readonly file: string; readonly text: string }[];
}

/** One program to pack as a variant. */
export interface VariantSource {
  readonly program: Program;
  /** Default: 'fp16' when the program needs shader-f16, else 'fp32'. */
  readonly precision?: Precision;
  readonly ir?: IrSource;
}

export interface PackOptions {
  /** Who compiled it; the version defaults to this kiln's, the pipeline to 'unknown'. */
  readonly compiler?: Partial<ManifestCompiler>;
  /** IR to keep when packing one Program (with variants, each VariantSource has its own). */
  readonly ir?: IrSource;
}

export interface LoadOptions {
  /** Indexes of the variants to validate (default: all); the others' files are not needed. */
  readonly variants?: readonly number[];
}

export interface ChooseOptions {
  /** Consider only the variant of this precision. */
  readonly precision?: Precision;
  /** Consider only these variants (by index), e.g. those that were loaded. */
  readonly among?: readonly number[];
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

/** Where a variant's files go: the first at the artifact's root, others in a folder named by precision. */
function variantFolder(index: number, precision: Precision): string {
  return index === 0 ? '' : `${precision}/`;
}

/**
 * Packs a Program, or several as variants in order of preference (e.g. f16 first, then its f32
 * fallback), as artifact files: per variant one WGSL file per kernel, a weights file, and in the
 * manifest every hash and what it needs of a device. Programs are stored generically (every field
 * but their binary parts goes to the manifest as JSON), and the result is validated exactly as
 * loadArtifact will, so an artifact the runtime would refuse is never written.
 */
export async function packArtifact(source: Program | readonly VariantSource[], opts: PackOptions = {}): Promise<PackedArtifact> {
  const sources: readonly VariantSource[] = Array.isArray(source) ? source : [{ program: source as Program, ...(opts.ir ? { ir: opts.ir } : {}) }];
  if (sources.length === 0) throw new KilnError('packArtifact: no program to pack');
  const kernels: Record<string, string> = {};
  const weights: Record<string, Uint8Array> = {};
  const extras: Record<string, string> = {};
  const variants: ManifestVariant[] = [];
  for (const [index, src] of sources.entries()) {
    const program = src.program;
    validateProgram(program);
    const precision = src.precision ?? (requiredFeatures(program).includes('shader-f16') ? 'fp16' : 'fp32');
    const folder = variantFolder(index, precision);
    const { weights: blob, kernels: kernelSpecs, ...rest } = program;
    const fileOf = kernelFileNames(kernelSpecs, folder);
    const manifestKernels: ManifestKernel[] = [];
    for (const [i, k] of kernelSpecs.entries()) {
      const { wgsl, ...meta } = k;
      const f = fileOf[i]!;
      kernels[f] = wgsl;
      manifestKernels.push({ ...meta, file: f, sha256: await sha256Hex(wgsl) });
    }
    const weightsFile = `${folder}${WEIGHTS_FILE}`;
    weights[weightsFile] = blob;
    const ir = src.ir;
    let finalFile: string | undefined;
    if (ir?.final !== undefined) extras[(finalFile = `${folder}ir/final.kir`)] = ir.final;
    const passFiles = (ir?.passes ?? []).map((p) => {
      const f = `${folder}ir/${safeName(p.file.replace(/\.kir$/, ''), 80)}.kir`;
      extras[f] = p.text;
      return f;
    });
    variants.push({
      precision,
      requires: { features: requiredFeatures(program), limits: requiredLimits(program, reflectAll(kernelSpecs)) },
      weights: { file: weightsFile, bytes: blob.byteLength, sha256: await sha256Hex(blob), alignment: weightAlignment(program) },
      program: { ...(plainData(rest, 'program') as Omit<ManifestProgram, 'kernels'>), kernels: manifestKernels },
      ...(ir && (finalFile || passFiles.length) ? {
        ir: {
          ...(finalFile ? { final: finalFile } : {}),
          ...(ir.weightRefs ? { weightRefs: { ...ir.weightRefs } } : {}),
          ...(passFiles.length ? { passes: passFiles } : {}),
        },
      } : {}),
    });
  }
  const first = sources[0]!.program;
  // The model's interface: a tensor one variant keeps in f16 is f16 for the user (an f32 variant converts).
  const iface = (kind: 'inputs' | 'outputs'): ManifestTensor[] => first[kind].map((t, k) => ({
    name: t.name,
    dtype: sources.some((s) => s.program[kind][k]?.dtype === 'f16') ? 'f16' : t.dtype,
    shape: [...t.shape],
  }));
  const manifest: ArtifactManifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    model: first.name,
    compiler: { name: 'kiln', version: KILN_VERSION, pipeline: 'unknown', ...opts.compiler },
    inputs: iface('inputs'),
    outputs: iface('outputs'),
    variants,
  };
  const packed: PackedArtifact = { manifest: await signManifest(manifest), kernels, weights, extras };
  await loadArtifact(packed);
  return packed;
}

/** The manifest with its `sha256` set, parsed as a loader will parse it (the hash is of that form). */
export async function signManifest(manifest: ArtifactManifest): Promise<ArtifactManifest> {
  const parsed = parseManifest({ ...manifest, formatVersion: ARTIFACT_FORMAT_VERSION, sha256: '0'.repeat(64) });
  return { ...parsed, sha256: await sha256Hex(manifestDigestText(parsed)) };
}

/** The manifest's text as written to manifest.json. */
export function manifestText(manifest: ArtifactManifest): string {
  return formatManifest(manifest);
}

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
  rethrowAsArtifactError(what, () => {
    program.dispatches.forEach((d, i) => {
      const k = program.kernels[d.kernel]!;
      checkDispatch(d, i, k, reflections[d.kernel]!, { bufferBytes: (id) => bufferBytes.get(id), limits: NO_DEVICE_LIMITS });
    });
  });
  const roles = new Map(program.buffers.map((b) => [b.id, b.role]));
  for (const [ref, id] of Object.entries(spec.ir?.weightRefs ?? {})) {
    if (roles.get(id) !== 'weight') fail(`ir.weightRefs maps '${ref}' to buffer ${id}, which is not a weight buffer`);
  }

  // What the manifest says the program needs must be what it needs, or device checks would lie.
  const features = requiredFeatures(program);
  const stated = [...spec.requires.features].sort();
  if (features.join(',') !== stated.join(',')) {
    fail(`requires.features [${stated.join(', ')}] differs from what its kernels need [${features.join(', ')}]`);
  }
  const limits = requiredLimits(program, reflections);
  for (const [key, need] of Object.entries(limits)) {
    if (spec.requires.limits[key] !== need) fail(`requires.limits.${key} is ${spec.requires.limits[key] ?? 'missing'} but its program needs ${need}`);
  }
  return { index, precision: spec.precision, spec, program };
}

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
      problems.push(`needs ${key} >= ${need} (${LIMIT_MEANINGS[key] ?? 'as the manifest states'}), the device allows ${has}`);
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

/** `kernels/000-matmul.wgsl` (inside `folder`): numbered in program order, the name made safe for any file system. */
function kernelFileNames(kernels: readonly KernelSpec[], folder: string): string[] {
  const width = Math.max(3, String(kernels.length - 1).length);
  return kernels.map((k, i) => `${folder}kernels/${String(i).padStart(width, '0')}-${safeName(k.name, 60)}.wgsl`);
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
