import { isDType, type DType } from '../ir/types.js';
import { arr, fail, file, int, obj, onlyKnown, sha, show, str, stringRecord, word } from './manifest-fields.js';
import { parseProgram } from './manifest-program.js';
import { parseSegments, parseWeights, type ManifestSegments } from './manifest-segments.js';
import type { Program, SizeWord } from './program.js';
import { parseIoLayout, type IoLayout } from './io-layout.js';

// The manifest of an artifact folder (manifest.json): what the artifact holds and needs. An
// artifact holds one model (its name and its inputs and outputs as a user sees them) compiled
// into one or more *variants* in order of preference, e.g. an f16 program that needs the
// shader-f16 feature and its f32 fallback; a runtime loads the first variant its device can run.
// Each variant is a Program minus its binary parts (kernel WGSL lives in kernel files, weights in
// a weights file); a variant placed on several devices holds its segments instead (see
// manifest-segments.ts). Parsing checks the JSON's structure field by field, so a damaged manifest
// gives an error naming the field rather than a TypeError deep in the loader.

export const ARTIFACT_FORMAT = 'kiln-artifact';
/**
 * The version this kiln writes; bumped whenever the manifest layout changes. Version 3 added the
 * manifest's own checksum (`sha256`), version 2 variants; versions 1 (one program, no variants,
 * read as a single variant) and 2 are still read, without a checksum to verify.
 */
export const ARTIFACT_FORMAT_VERSION = 3;
/** Every format version this runtime reads; any other is refused. */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2, 3];

export { ArtifactError, isSafeArtifactPath } from './manifest-fields.js';

/** The float precision a variant computes in. */
export type Precision = 'fp32' | 'fp16';
const PRECISIONS: readonly Precision[] = ['fp32', 'fp16'];

/** A kernel as the manifest lists it: its WGSL is the file `file`, whose SHA-256 is `sha256`. */
export interface ManifestKernel {
  readonly name: string;
  readonly entryPoint: string;
  readonly file: string;
  readonly sha256: string;
}

/** The Program stored generically: every field but `weights` (a weights file) and kernel WGSL (files). */
export type ManifestProgram = Omit<Program, 'weights' | 'kernels'> & { readonly kernels: readonly ManifestKernel[] };

/** What made the artifact. */
export interface ManifestCompiler {
  readonly name: string;
  readonly version: string;
  /** The pass pipeline it ran ('O2', or a comma-separated pass list). */
  readonly pipeline: string;
  /** Kernel variants chosen, by `family|signature`, and how ('vec4b (tuned)', 'tiled (heuristic: gpu)'). */
  readonly kernelChoices?: Readonly<Record<string, string>>;
}

/** The optional IR of a variant: text dumps for people and for `kiln run --compare cpu`. */
export interface ManifestIr {
  /** The optimised graph that codegen lowered, as IR text (large constants printed as refs). */
  readonly final?: string;
  /** For each const ref in `final`: the id of the weight buffer holding its data. */
  readonly weightRefs?: Readonly<Record<string, number>>;
  /** The IR after each pass, in pipeline order. */
  readonly passes?: readonly string[];
}

/** What a device must offer to run a variant: WebGPU features, and each limit at least this large. */
export interface ManifestRequires {
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
}

/** A variant's weights file. */
export interface ManifestWeights {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Every weight starts at a multiple of this many bytes. */
  readonly alignment: number;
}

/** A named input or output as a user of the artifact sees it. */
export interface ManifestTensor {
  readonly name: string;
  readonly dtype: DType;
  /** Extents; where `dims` is present, each one's largest value. */
  readonly shape: readonly number[];
  /** The extents as sizes that vary from run to run (`N`, `floor((W+1)/2)`), when some do. */
  readonly dims?: readonly SizeWord[];
}

/** One compiled program of the model, with what a device needs to run it. */
export interface ManifestProgramVariant {
  readonly precision: Precision;
  readonly requires: ManifestRequires;
  readonly weights: ManifestWeights;
  readonly program: ManifestProgram;
  readonly ir?: ManifestIr;
  readonly segments?: undefined;
}

/** The model compiled as segments on several devices; `requires` is what its WebGPU segments need together. */
export interface ManifestSegmentedVariant {
  readonly precision: Precision;
  readonly requires: ManifestRequires;
  readonly segments: ManifestSegments;
  readonly ir?: ManifestIr;
  readonly program?: undefined;
  readonly weights?: undefined;
}

export type ManifestVariant = ManifestProgramVariant | ManifestSegmentedVariant;

/** The inputs and outputs a variant takes and gives: its program's, or its segments'. */
export function variantInterface(v: ManifestVariant): { readonly inputs: readonly ManifestTensor[]; readonly outputs: readonly ManifestTensor[] } {
  return v.segments ?? v.program;
}

export interface ArtifactManifest {
  readonly format: typeof ARTIFACT_FORMAT;
  /** The version the file was written in (one of READABLE_FORMAT_VERSIONS); parsed into this layout. */
  readonly formatVersion: number;
  /** The model's (graph's) name; equal to every variant's program.name. */
  readonly model: string;
  readonly compiler: ManifestCompiler;
  /**
   * The inputs and outputs a caller feeds and gets, in order. Every variant's program has these
   * names and shapes; a variant may compute an f16 tensor in f32 (its f32 fallback), and the
   * runtime then converts at the boundary.
   */
  readonly inputs: readonly ManifestTensor[];
  readonly outputs: readonly ManifestTensor[];
  /** In order of preference: a runtime loads the first one its device can run. */
  readonly variants: readonly ManifestVariant[];
  /** The model's sequence and optional inputs and outputs as `inputs`/`outputs` tensors (io-layout.ts); absent when all are tensors. */
  readonly layout?: IoLayout;
  /**
   * SHA-256 of the rest of the manifest (version 3 on; see manifestDigestText), so that an edited
   * or damaged manifest is refused like an edited kernel or weights file.
   */
  readonly sha256?: string;
}


const MANIFEST_FIELDS_V2 = new Set(['format', 'formatVersion', 'model', 'compiler', 'inputs', 'outputs', 'variants']);
const MANIFEST_FIELDS_V3 = new Set([...MANIFEST_FIELDS_V2, 'sha256', 'layout']);
const VARIANT_FIELDS = new Set(['precision', 'requires', 'weights', 'program', 'ir', 'segments']);



/**
 * Parses manifest.json (text, bytes or an already-parsed object) and checks its structure; the
 * format and its version are checked first, so an artifact of another version says so plainly.
 * A version-1 manifest is returned in the current layout, as one variant.
 */
export function parseManifest(source: string | Uint8Array | object): ArtifactManifest {
  let raw: unknown;
  try {
    // An object is cloned through JSON too, so the result is plain data the caller cannot change.
    const text = typeof source === 'string' ? source : source instanceof Uint8Array ? new TextDecoder().decode(source) : JSON.stringify(source);
    raw = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message})`);
  }
  const m = obj(raw, 'the manifest');
  if (m.format !== ARTIFACT_FORMAT) fail(`format is ${show(m.format)}, not '${ARTIFACT_FORMAT}': this is not a kiln artifact`);
  const version = m.formatVersion;
  if (typeof version !== 'number' || !READABLE_FORMAT_VERSIONS.includes(version)) {
    const newer = typeof version === 'number' && version > ARTIFACT_FORMAT_VERSION;
    fail(`artifact format version ${show(version)}; this runtime reads versions ${READABLE_FORMAT_VERSIONS.join(' and ')} (${newer ? 'load it with the newer kiln that wrote it, or recompile' : 'recompile'} the model with this version of kiln)`);
  }
  const compiler = obj(m.compiler, 'compiler');
  const head = {
    format: ARTIFACT_FORMAT as typeof ARTIFACT_FORMAT,
    formatVersion: version as number,
    model: str(m.model, 'model'),
    compiler: {
      name: str(compiler.name, 'compiler.name'), version: str(compiler.version, 'compiler.version'), pipeline: str(compiler.pipeline, 'compiler.pipeline'),
      ...(compiler.kernelChoices === undefined ? {} : { kernelChoices: stringRecord(compiler.kernelChoices, 'compiler.kernelChoices') }),
    },
  };
  let manifest: ArtifactManifest;
  if (version === 1) {
    // Version 1: the one program's fields at the top level; its interface is its program's.
    const v = parseVariant({ ...m, precision: undefined }, '', 1);
    const io = variantInterface(v);
    manifest = { ...head, inputs: io.inputs.map(tensorInfo), outputs: io.outputs.map(tensorInfo), variants: [v] };
  } else {
    onlyKnown(m, version === 2 ? MANIFEST_FIELDS_V2 : MANIFEST_FIELDS_V3, 'the manifest');
    const variants = arr(m.variants, 'variants', (x, path) => parseVariant(obj(x, path), `${path}.`, 2));
    if (variants.length === 0) fail('variants is empty: an artifact holds at least one compiled program');
    const checksum = (version as number) >= 3 ? { sha256: sha(m.sha256, 'sha256') } : {};
    const [inputs, outputs] = [arr(m.inputs, 'inputs', tensor), arr(m.outputs, 'outputs', tensor)];
    manifest = { ...head, inputs, outputs, variants, ...checksum, ...(m.layout === undefined ? {} : { layout: parseIoLayout(m.layout, 'layout', { inputs, outputs }, fail) }) };
  }
  checkVariantsAgree(manifest);
  return manifest;
}

function tensorInfo({ name, dtype, shape, dims }: ManifestTensor): ManifestTensor {
  return { name, dtype, shape: [...shape], ...(dims ? { dims: [...dims] } : {}) };
}


function tensor(x: unknown, path: string): ManifestTensor {
  const t = obj(x, path);
  const dtype = str(t.dtype, `${path}.dtype`);
  if (!isDType(dtype)) fail(`${path}.dtype '${dtype}' is not a kiln dtype`);
  return {
    name: str(t.name, `${path}.name`), dtype: dtype as DType, shape: arr(t.shape, `${path}.shape`, int),
    ...(t.dims === undefined ? {} : { dims: arr(t.dims, `${path}.dims`, word) }),
  };
}

/** One variant; `prefix` is where its fields are (`variants[0].`, or '' in a version-1 manifest). */
function parseVariant(v: Record<string, unknown>, prefix: string, version: number): ManifestVariant {
  if (version >= 2) onlyKnown(v, VARIANT_FIELDS, prefix.replace(/\.$/, ''));
  const requires = obj(v.requires, `${prefix}requires`);
  const limits = obj(requires.limits, `${prefix}requires.limits`);
  const features = arr(requires.features, `${prefix}requires.features`, str);
  let precision: Precision;
  if (version === 1) {
    // Version 1 did not say; a program that needs shader-f16 computes in f16.
    precision = features.includes('shader-f16') ? 'fp16' : 'fp32';
  } else {
    const p = str(v.precision, `${prefix}precision`);
    if (!PRECISIONS.includes(p as Precision)) fail(`${prefix}precision must be ${PRECISIONS.map((x) => `'${x}'`).join(' or ')}, got ${show(p)}`);
    precision = p as Precision;
  }
  const common = {
    precision,
    requires: {
      features,
      limits: Object.fromEntries(Object.entries(limits).map(([k, x]) => [k, int(x, `${prefix}requires.limits.${k}`)])),
    },
    ...(v.ir === undefined ? {} : { ir: parseIr(v.ir, `${prefix}ir`) }),
  };
  if (v.segments !== undefined) {
    if (v.program !== undefined || v.weights !== undefined) fail(`${prefix}segments: a variant holds segments or one program, not both`);
    return { ...common, segments: parseSegments(v.segments, `${prefix}segments`, tensor) };
  }
  return { ...common, weights: parseWeights(v.weights, `${prefix}weights`), program: parseProgram(v.program, `${prefix}program`) };
}

/**
 * Every variant computes the model the manifest declares: same name, and inputs and outputs of
 * the same names, order and shapes; a dtype may differ only where a variant computes an f16
 * tensor in f32. Variants differ in precision, so each precision names one variant.
 */
function checkVariantsAgree(m: ArtifactManifest): void {
  const seen = new Set<Precision>();
  m.variants.forEach((v, i) => {
    const what = `variants[${i}] (${v.precision})`;
    if (seen.has(v.precision)) fail(`${what}: a second variant of precision ${v.precision}`);
    seen.add(v.precision);
    if (v.program && v.program.name !== m.model) fail(`${what}: program.name '${v.program.name}' differs from model '${m.model}'`);
    for (const kind of ['inputs', 'outputs'] as const) {
      const want = m[kind];
      const got = variantInterface(v)[kind];
      const sig = (ts: readonly ManifestTensor[]) => ts.map((t) => `${t.name}: ${t.dtype}[${t.shape.join(',')}]`).join(', ');
      const agree = got.length === want.length && want.every((t, k) => {
        const g = got[k]!;
        const sameShape = g.shape.length === t.shape.length && g.shape.every((d, j) => d === t.shape[j]);
        return g.name === t.name && sameShape && (g.dtype === t.dtype || (t.dtype === 'f16' && g.dtype === 'f32'));
      });
      if (!agree) fail(`${what}: its ${v.segments ? 'segments\'' : 'program\'s'} ${kind} (${sig(got)}) differ from the model's (${sig(want)})`);
    }
  });
}



function parseIr(v: unknown, at: string): ManifestIr {
  const ir = obj(v, at);
  return {
    ...(ir.final === undefined ? {} : { final: file(ir.final, `${at}.final`) }),
    ...(ir.weightRefs === undefined ? {} : {
      weightRefs: Object.fromEntries(Object.entries(obj(ir.weightRefs, `${at}.weightRefs`)).map(([k, id]) => [k, int(id, `${at}.weightRefs[${JSON.stringify(k)}]`)])),
    }),
    ...(ir.passes === undefined ? {} : { passes: arr(ir.passes, `${at}.passes`, file) }),
  };
}

export { formatManifest, manifestDigestText } from './manifest-format.js';
