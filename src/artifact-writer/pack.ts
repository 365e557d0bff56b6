import { KilnError } from '../ir/errors.js';
import type { ArtifactFiles } from '../runtime/artifact.js';
import { loadArtifact, WEIGHTS_FILE } from '../runtime/artifact.js';
import { requiredFeatures, requiredLimits } from '../runtime/artifact-device.js';
import {
  ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, formatManifest, isSafeArtifactPath, manifestDigestText, parseManifest,
  type ArtifactManifest, type ManifestCompiler, type ManifestKernel, type ManifestProgram, type ManifestTensor,
  type ManifestVariant, type Precision,
} from '../runtime/manifest.js';
import { isPlainLayout, type IoLayout } from '../runtime/io-layout.js';
import { validateProgram, type KernelSpec, type Program } from '../runtime/program.js';
import { reflectAll } from '../runtime/reflect.js';
import { sha256Hex } from '../runtime/sha256.js';
import { resolveForLoad } from '../runtime/sizes.js';
import { KILN_VERSION } from '../runtime/version.js';

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
  const kernels: Record<string, string> = {};
  const weights: Record<string, Uint8Array> = {};
  const extras: Record<string, string> = {};
  const variants: ManifestVariant[] = [];
  for (const [index, src] of sources.entries()) {
    const program = src.program;
    validateProgram(program);
    const largest = resolveForLoad(program).program;
    const precision = src.precision ?? (requiredFeatures(largest).includes('shader-f16') ? 'fp16' : 'fp32');
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
      requires: { features: requiredFeatures(largest), limits: requiredLimits(largest, reflectAll(kernelSpecs)) },
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
    ...(t.dims ? { dims: [...t.dims] } : {}),
  }));
  const manifest: ArtifactManifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    model: first.name,
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
