import { KilnError } from '../ir/errors.js';
import { isDType, type DType } from '../ir/types.js';
import type { Program, SizeWord } from './program.js';
import { parseIoLayout, type IoLayout } from './io-layout.js';

// The manifest of an artifact folder (manifest.json): what the artifact holds and needs. An
// artifact holds one model (its name and its inputs and outputs as a user sees them) compiled
// into one or more *variants* in order of preference, e.g. an f16 program that needs the
// shader-f16 feature and its f32 fallback; a runtime loads the first variant its device can run.
// Each variant is a Program minus its binary parts (kernel WGSL lives in kernel files, weights in
// a weights file). Parsing checks the JSON's structure field by field, so a damaged manifest
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

/** An artifact that is malformed, corrupted or unusable on this device; never loaded. */
export class ArtifactError extends KilnError {
  override name = 'ArtifactError';
}

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
export interface ManifestVariant {
  readonly precision: Precision;
  readonly requires: ManifestRequires;
  readonly weights: ManifestWeights;
  readonly program: ManifestProgram;
  readonly ir?: ManifestIr;
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

/** Program fields this runtime knows (a field added to Program goes here and into parseProgram, with its check). */
const PROGRAM_FIELDS = new Set(['version', 'name', 'inputs', 'outputs', 'buffers', 'kernels', 'dispatches', 'requiredFeatures', 'state', 'stateUpdates', 'sizes']);
/** An object whose every value is a string (checked field by field). */
function stringRecord(v: unknown, path: string): Record<string, string> {
  const o = obj(v, path);
  for (const [k, x] of Object.entries(o)) if (typeof x !== 'string') fail(`${path}.${k} must be a string, got ${show(x)}`);
  return o as Record<string, string>;
}

const MANIFEST_FIELDS_V2 = new Set(['format', 'formatVersion', 'model', 'compiler', 'inputs', 'outputs', 'variants']);
const MANIFEST_FIELDS_V3 = new Set([...MANIFEST_FIELDS_V2, 'sha256', 'layout']);
const VARIANT_FIELDS = new Set(['precision', 'requires', 'weights', 'program', 'ir']);

/** Paths inside an artifact: relative, plain characters, no `..`, so a manifest cannot point outside its folder. */
export function isSafeArtifactPath(p: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/.test(p);
}

const fail = (msg: string): never => {
  throw new ArtifactError(`manifest.json: ${msg}`);
};
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 60) ?? String(v));

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path} must be an object, got ${show(v)}`);
  return v as Record<string, unknown>;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(`${path} must be a string, got ${show(v)}`);
  return v as string;
}
function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${path} must be a non-negative integer, got ${show(v)}`);
  return v as number;
}
function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path} must be a number, got ${show(v)}`);
  return v as number;
}
function arr<T>(v: unknown, path: string, each: (x: unknown, path: string) => T): T[] {
  if (!Array.isArray(v)) fail(`${path} must be an array, got ${show(v)}`);
  return (v as unknown[]).map((x, i) => each(x, `${path}[${i}]`));
}
function file(v: unknown, path: string): string {
  const p = str(v, path);
  if (!isSafeArtifactPath(p)) fail(`${path} '${p}' is not a plain relative path inside the artifact`);
  return p;
}
function sha(v: unknown, path: string): string {
  const s = str(v, path);
  if (!/^[0-9a-f]{64}$/.test(s)) fail(`${path} must be 64 lower-case hex digits (a SHA-256), got ${show(v)}`);
  return s;
}
function onlyKnown(o: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length) {
    fail(`${path} has field(s) ${unknown.map((k) => `'${k}'`).join(', ')} this runtime does not know: it was made by a newer kiln; load it with that version's runtime`);
  }
}

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
    manifest = { ...head, inputs: v.program.inputs.map(tensorInfo), outputs: v.program.outputs.map(tensorInfo), variants: [v] };
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

/** A word of a program compiled for a range of shapes: a number, or a size expression's text. */
function word(x: unknown, path: string): SizeWord {
  return typeof x === 'string' ? str(x, path) : num(x, path);
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
  const weights = obj(v.weights, `${prefix}weights`);
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
  return {
    precision,
    requires: {
      features,
      limits: Object.fromEntries(Object.entries(limits).map(([k, x]) => [k, int(x, `${prefix}requires.limits.${k}`)])),
    },
    weights: {
      file: file(weights.file, `${prefix}weights.file`),
      bytes: int(weights.bytes, `${prefix}weights.bytes`),
      sha256: sha(weights.sha256, `${prefix}weights.sha256`),
      alignment: int(weights.alignment, `${prefix}weights.alignment`),
    },
    program: parseProgram(v.program, `${prefix}program`),
    ...(v.ir === undefined ? {} : { ir: parseIr(v.ir, `${prefix}ir`) }),
  };
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
    if (v.program.name !== m.model) fail(`${what}: program.name '${v.program.name}' differs from model '${m.model}'`);
    for (const kind of ['inputs', 'outputs'] as const) {
      const want = m[kind];
      const got = v.program[kind];
      const sig = (ts: readonly ManifestTensor[]) => ts.map((t) => `${t.name}: ${t.dtype}[${t.shape.join(',')}]`).join(', ');
      const agree = got.length === want.length && want.every((t, k) => {
        const g = got[k]!;
        const sameShape = g.shape.length === t.shape.length && g.shape.every((d, j) => d === t.shape[j]);
        return g.name === t.name && sameShape && (g.dtype === t.dtype || (t.dtype === 'f16' && g.dtype === 'f32'));
      });
      if (!agree) fail(`${what}: its program's ${kind} (${sig(got)}) differ from the model's (${sig(want)})`);
    }
  });
}

/** A dispatch's (or a dispatch variant's) kernel, uniform words and workgroup counts. */
function kernelRun(d: Record<string, unknown>, path: string) {
  const workgroups = arr(d.workgroups, `${path}.workgroups`, word);
  if (workgroups.length !== 3) fail(`${path}.workgroups must hold 3 counts, got ${workgroups.length}`);
  return {
    kernel: int(d.kernel, `${path}.kernel`),
    // Range of each word (u32 or i32) is checked against the kernel by checkDispatch.
    ...(d.uniforms === undefined ? {} : { uniforms: arr(d.uniforms, `${path}.uniforms`, word) }),
    workgroups: workgroups as unknown as readonly [SizeWord, SizeWord, SizeWord],
  };
}

function parseProgram(v: unknown, at: string): ManifestProgram {
  const p = obj(v, at);
  onlyKnown(p, PROGRAM_FIELDS, at);
  const binding = (x: unknown, path: string) => {
    const t = obj(x, path);
    return {
      name: str(t.name, `${path}.name`), dtype: str(t.dtype, `${path}.dtype`) as Program['inputs'][number]['dtype'], shape: arr(t.shape, `${path}.shape`, int), buffer: int(t.buffer, `${path}.buffer`),
      ...(t.dims === undefined ? {} : { dims: arr(t.dims, `${path}.dims`, word) }),
    };
  };
  return {
    version: int(p.version, `${at}.version`),
    name: str(p.name, `${at}.name`),
    inputs: arr(p.inputs, `${at}.inputs`, binding),
    outputs: arr(p.outputs, `${at}.outputs`, binding),
    buffers: arr(p.buffers, `${at}.buffers`, (x, path) => {
      const b = obj(x, path);
      return {
        id: int(b.id, `${path}.id`),
        bytes: int(b.bytes, `${path}.bytes`),
        role: str(b.role, `${path}.role`) as Program['buffers'][number]['role'],
        ...(b.weightOffset === undefined ? {} : { weightOffset: int(b.weightOffset, `${path}.weightOffset`) }),
        ...(b.label === undefined ? {} : { label: str(b.label, `${path}.label`) }),
      };
    }),
    kernels: arr(p.kernels, `${at}.kernels`, (x, path) => {
      const k = obj(x, path);
      return { name: str(k.name, `${path}.name`), entryPoint: str(k.entryPoint, `${path}.entryPoint`), file: file(k.file, `${path}.file`), sha256: sha(k.sha256, `${path}.sha256`) };
    }),
    dispatches: arr(p.dispatches, `${at}.dispatches`, (x, path) => {
      const d = obj(x, path);
      return {
        label: str(d.label, `${path}.label`),
        buffers: arr(d.buffers, `${path}.buffers`, int),
        ...kernelRun(d, path),
        ...(d.variants === undefined ? {} : {
          variants: arr(d.variants, `${path}.variants`, (y, vp) => {
            const v = obj(y, vp);
            const when = obj(v.when, `${vp}.when`);
            return {
              when: {
                size: str(when.size, `${vp}.when.size`),
                ...(when.min === undefined ? {} : { min: int(when.min, `${vp}.when.min`) }),
                ...(when.max === undefined ? {} : { max: int(when.max, `${vp}.when.max`) }),
              },
              ...kernelRun(v, vp),
            };
          }),
        }),
      };
    }),
    requiredFeatures: arr(p.requiredFeatures, `${at}.requiredFeatures`, str),
    ...(p.state === undefined ? {} : { state: arr(p.state, `${at}.state`, binding) }),
    ...(p.sizes === undefined ? {} : {
      sizes: arr(p.sizes, `${at}.sizes`, (x, path) => {
        const v = obj(x, path);
        return { name: str(v.name, `${path}.name`), min: int(v.min, `${path}.min`), max: int(v.max, `${path}.max`) };
      }),
    }),
    ...(p.stateUpdates === undefined ? {} : {
      stateUpdates: arr(p.stateUpdates, `${at}.stateUpdates`, (x, path) => {
        const u = obj(x, path);
        return { from: int(u.from, `${path}.from`), to: int(u.to, `${path}.to`) };
      }),
    }),
  };
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
