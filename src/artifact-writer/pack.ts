import { KilnError } from '../ir/errors.js';
import type { ArtifactFiles } from '../runtime/artifact.js';
import { loadArtifact } from '../runtime/artifact.js';
import { requiredFeatures } from '../runtime/artifact-device.js';
import {
  ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, formatManifest, manifestDigestText, parseManifest, variantInterface,
  type ArtifactManifest, type ManifestCompiler, type ManifestTensor, type ManifestVariant, type Precision,
} from '../runtime/manifest.js';
import { isPlainLayout, type IoLayout } from '../runtime/io-layout.js';
import type { Program } from '../runtime/program.js';
import type { SegmentedProgram } from '../runtime/segmented.js';
import { sha256Hex } from '../runtime/sha256.js';
import { resolveForLoad } from '../runtime/sizes.js';
import { KILN_VERSION } from '../runtime/version.js';
import { packProgram, safeName, type PackedFiles } from './pack-program.js';
import { packSegments } from './pack-segments.js';

// Writing artifacts (the compiler's side; the runtime only reads them, see runtime/artifact.ts):
// Programs packed as an artifact's files, validated exactly as the runtime will load them.

/** A packed artifact: its files, plus extra files (IR dumps) the runtime does not read. */
export interface PackedArtifact extends ArtifactFiles {
  readonly manifest: ArtifactManifest;
  readonly kernels: Readonly<Record<string, string>>;
  readonly weights: Readonly<Record<string, Uint8Array>>;
  readonly extras: Readonly<Record<string, string>>;
}

/** IR text to keep with a variant: the final graph (and where its elided weights live), and per-pass dumps. */
export interface IrSource {
  readonly final?: string;
  readonly weightRefs?: Readonly<Record<string, number>>;
  readonly passes?: readonly { readonly file: string; readonly text: string }[];
}

/** One program to pack as a variant, or a program placed on several devices (its segments). */
export type VariantSource = { readonly program: Program } & VariantOptions | { readonly segmented: SegmentedProgram } & VariantOptions;

interface VariantOptions {
  /** Default: 'fp16' when a program needs shader-f16, else 'fp32'. */
  readonly precision?: Precision;
  readonly ir?: IrSource;
}

function sourceName(src: VariantSource): string {
  return 'segmented' in src ? src.segmented.name : src.program.name;
}

function defaultPrecision(src: VariantSource): Precision {
  const programs = 'segmented' in src ? src.segmented.segments.flatMap((s) => (s.device === 'webgpu' ? [s.program] : [])) : [src.program];
  return programs.some((p) => requiredFeatures(resolveForLoad(p).program).includes('shader-f16')) ? 'fp16' : 'fp32';
}

export interface PackOptions {
  /** Who compiled it; the version defaults to this kiln's, the pipeline to 'unknown'. */
  readonly compiler?: Partial<ManifestCompiler>;
  /** IR to keep when packing one Program (with variants, each VariantSource has its own). */
  readonly ir?: IrSource;
  /** How the model's sequence and optional inputs and outputs map to the program's tensors (kept when any is not a plain tensor). */
  readonly layout?: IoLayout;
}

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
  const files: PackedFiles = { kernels: {}, weights: {}, extras: {} };
  const { kernels, weights, extras } = files;
  const variants: ManifestVariant[] = [];
  for (const [index, src] of sources.entries()) {
    const precision = src.precision ?? defaultPrecision(src);
    const folder = variantFolder(index, precision);
    const packed = 'segmented' in src ? await packSegments(src.segmented, folder, files) : await packProgram(src.program, folder, files);
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
      ...packed,
      ...(ir && (finalFile || passFiles.length) ? {
        ir: {
          ...(finalFile ? { final: finalFile } : {}),
          ...(ir.weightRefs ? { weightRefs: { ...ir.weightRefs } } : {}),
          ...(passFiles.length ? { passes: passFiles } : {}),
        },
      } : {}),
    });
  }
  const first = variantInterface(variants[0]!);
  // The model's interface: a tensor one variant keeps in f16 is f16 for the user (an f32 variant converts).
  const iface = (kind: 'inputs' | 'outputs'): ManifestTensor[] => first[kind].map((t, k) => ({
    name: t.name,
    dtype: variants.some((v) => variantInterface(v)[kind][k]?.dtype === 'f16') ? 'f16' : t.dtype,
    shape: [...t.shape],
    ...(t.dims ? { dims: [...t.dims] } : {}),
  }));
  const manifest: ArtifactManifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    model: sourceName(sources[0]!),
    compiler: { name: 'kiln', version: KILN_VERSION, pipeline: 'unknown', ...opts.compiler },
    inputs: iface('inputs'),
    outputs: iface('outputs'),
    variants,
    ...(opts.layout && !isPlainLayout(opts.layout) ? { layout: opts.layout } : {}),
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
