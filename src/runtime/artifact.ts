import { KilnError } from '../ir/errors.js';
import { loadProgramFiles } from './artifact-program.js';
import { loadSegments, segmentFiles } from './artifact-segments.js';
import { ArtifactError, manifestDigestText, parseManifest, type ArtifactManifest, type ManifestRequires, type ManifestVariant, type Precision } from './manifest.js';
import type { Program } from './program.js';
import type { SegmentedProgram } from './segmented.js';
import { sha256Hex } from './sha256.js';

// An artifact is a model compiled into one or more variants (e.g. f16 with an f32 fallback), as
// files: manifest.json, and per variant its kernels' WGSL, its weights file and optionally its IR.
// The first variant's files sit at the root (kernels/NNN-name.wgsl, weights.bin, ir/*.kir), each
// further variant's under a folder named by its precision (fp32/kernels/..., fp32/weights.bin).
// A variant placed on several devices keeps each segment's files in segments/N/ of its folder
// (a WebGPU segment's kernels and weights.bin, a CPU segment's constants.bin; artifact-segments.ts).
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

/** One validated variant of an artifact, ready for a Session (or SegmentedSession) on a device that can run it. */
export type LoadedVariant = LoadedProgramVariant | LoadedSegmentedVariant;

export interface LoadedProgramVariant extends LoadedVariantBase {
  readonly program: Program;
  readonly segmented?: undefined;
}

export interface LoadedSegmentedVariant extends LoadedVariantBase {
  readonly segmented: SegmentedProgram;
  readonly program?: undefined;
}

interface LoadedVariantBase {
  /** Its position in the manifest's variants (0: the preferred one). */
  readonly index: number;
  readonly precision: Precision;
  /** Its manifest entry (what it requires, its weights file, its IR files). */
  readonly spec: ManifestVariant;
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

/** The files a variant needs read: its kernels' and its weights files (a segmented variant's: those of every segment). */
export function variantFiles(v: ManifestVariant): { kernels: string[]; weights: string[] } {
  if (v.segments) return segmentFiles(v.segments);
  return { kernels: [...new Set(v.program.kernels.map((k) => k.file))], weights: [v.weights.file] };
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

async function loadVariant(manifest: ArtifactManifest, index: number, files: ArtifactFiles): Promise<LoadedVariant> {
  const spec = manifest.variants[index]!;
  const what = variantName(manifest, index);
  const fail = (msg: string): never => {
    throw new ArtifactError(`${what}: ${msg}`);
  };
  if (spec.segments) {
    const { segmented, needs } = await loadSegments(spec.segments, manifest, files, fail);
    checkRequires(spec.requires, needs, fail);
    return { index, precision: spec.precision, spec, segmented };
  }
  const { program, needs } = await loadProgramFiles(spec.program, spec.weights, manifest, files, fail);
  const roles = new Map(program.buffers.map((b) => [b.id, b.role]));
  for (const [ref, id] of Object.entries(spec.ir?.weightRefs ?? {})) {
    if (roles.get(id) !== 'weight') fail(`ir.weightRefs maps '${ref}' to buffer ${id}, which is not a weight buffer`);
  }
  checkRequires(spec.requires, [needs], fail);
  return { index, precision: spec.precision, spec, program };
}

/** What several programs need of one device together: every feature one needs, each limit the largest one needs. */
export function combinedNeeds(needs: readonly ManifestRequires[]): { features: string[]; limits: Record<string, number> } {
  const features = new Set<string>();
  const limits: Record<string, number> = {};
  for (const n of needs) {
    for (const f of n.features) features.add(f);
    for (const [key, x] of Object.entries(n.limits)) limits[key] = Math.max(limits[key] ?? 0, x);
  }
  return { features: [...features].sort(), limits };
}

/**
 * What the manifest says a variant needs must be what its programs need together (every feature
 * one needs; each limit the largest one needs), or device checks would lie.
 */
function checkRequires(requires: ManifestRequires, needs: readonly ManifestRequires[], fail: (msg: string) => never): void {
  const { features, limits } = combinedNeeds(needs);
  const need = [...features].sort();
  const stated = [...requires.features].sort();
  if (need.join(',') !== stated.join(',')) fail(`requires.features [${stated.join(', ')}] differs from what its kernels need [${need.join(', ')}]`);
  for (const [key, n] of Object.entries(limits)) {
    if (requires.limits[key] !== n) fail(`requires.limits.${key} is ${requires.limits[key] ?? 'missing'} but its program needs ${n}`);
  }
}
