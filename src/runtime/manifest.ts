import { KilnError } from '../ir/errors.js';
import type { Program } from './program.js';

// The manifest of an artifact folder (manifest.json): what the artifact holds and needs, and the
// Program minus its binary parts (kernel WGSL lives in kernels/*.wgsl, weights in weights.bin).
// Parsing checks the JSON's structure field by field, so a damaged manifest gives an error naming
// the field rather than a TypeError deep in the loader.

export const ARTIFACT_FORMAT = 'kiln-artifact';
/** Bumped whenever the manifest layout changes; a runtime refuses every other version. */
export const ARTIFACT_FORMAT_VERSION = 1;

/** An artifact that is malformed, corrupted or unusable on this device; never loaded. */
export class ArtifactError extends KilnError {
  override name = 'ArtifactError';
}

/** A kernel as the manifest lists it: its WGSL is the file `file`, whose SHA-256 is `sha256`. */
export interface ManifestKernel {
  readonly name: string;
  readonly entryPoint: string;
  readonly file: string;
  readonly sha256: string;
}

/** The Program stored generically: every field but `weights` (weights.bin) and kernel WGSL (files). */
export type ManifestProgram = Omit<Program, 'weights' | 'kernels'> & { readonly kernels: readonly ManifestKernel[] };

/** What made the artifact. */
export interface ManifestCompiler {
  readonly name: string;
  readonly version: string;
  /** The pass pipeline it ran ('O2', or a comma-separated pass list). */
  readonly pipeline: string;
}

/** The optional IR section: text dumps for people and for `kiln run --compare cpu`. */
export interface ManifestIr {
  /** The optimised graph that codegen lowered, as IR text (large constants printed as refs). */
  readonly final?: string;
  /** For each const ref in `final`: the id of the weight buffer holding its data. */
  readonly weightRefs?: Readonly<Record<string, number>>;
  /** The IR after each pass, in pipeline order. */
  readonly passes?: readonly string[];
}

export interface ArtifactManifest {
  readonly format: typeof ARTIFACT_FORMAT;
  readonly formatVersion: number;
  /** The model's (graph's) name; equal to program.name. */
  readonly model: string;
  readonly compiler: ManifestCompiler;
  /** What a device must offer: WebGPU features, and each limit at least this large. */
  readonly requires: {
    readonly features: readonly string[];
    readonly limits: Readonly<Record<string, number>>;
  };
  readonly weights: {
    readonly file: string;
    readonly bytes: number;
    readonly sha256: string;
    /** Every weight starts at a multiple of this many bytes. */
    readonly alignment: number;
  };
  readonly program: ManifestProgram;
  readonly ir?: ManifestIr;
}

/** Program fields this runtime knows; a newer compiler's unknown field must not be silently ignored. */
// A field added to Program goes here and into parseProgram (with its structure check).
const PROGRAM_FIELDS = new Set(['version', 'name', 'inputs', 'outputs', 'buffers', 'kernels', 'dispatches', 'requiredFeatures', 'state', 'stateUpdates']);

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

/**
 * Parses manifest.json (text, bytes or an already-parsed object) and checks its structure; the
 * format and its version are checked first, so an artifact of another version says so plainly.
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
  if (m.formatVersion !== ARTIFACT_FORMAT_VERSION) {
    fail(`artifact format version ${show(m.formatVersion)}; this runtime reads version ${ARTIFACT_FORMAT_VERSION} (recompile the model with this version of kiln)`);
  }
  const compiler = obj(m.compiler, 'compiler');
  const requires = obj(m.requires, 'requires');
  const limits = obj(requires.limits, 'requires.limits');
  const weights = obj(m.weights, 'weights');
  const manifest: ArtifactManifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    model: str(m.model, 'model'),
    compiler: { name: str(compiler.name, 'compiler.name'), version: str(compiler.version, 'compiler.version'), pipeline: str(compiler.pipeline, 'compiler.pipeline') },
    requires: {
      features: arr(requires.features, 'requires.features', str),
      limits: Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, int(v, `requires.limits.${k}`)])),
    },
    weights: {
      file: file(weights.file, 'weights.file'),
      bytes: int(weights.bytes, 'weights.bytes'),
      sha256: sha(weights.sha256, 'weights.sha256'),
      alignment: int(weights.alignment, 'weights.alignment'),
    },
    program: parseProgram(m.program),
    ...(m.ir === undefined ? {} : { ir: parseIr(m.ir) }),
  };
  if (manifest.model !== manifest.program.name) fail(`model '${manifest.model}' differs from program.name '${manifest.program.name}'`);
  return manifest;
}

function parseProgram(v: unknown): ManifestProgram {
  const p = obj(v, 'program');
  const unknown = Object.keys(p).filter((k) => !PROGRAM_FIELDS.has(k));
  if (unknown.length) {
    fail(`program has field(s) ${unknown.map((k) => `'${k}'`).join(', ')} this runtime does not know: it was made by a newer kiln; load it with that version's runtime`);
  }
  const binding = (x: unknown, path: string) => {
    const t = obj(x, path);
    return { name: str(t.name, `${path}.name`), dtype: str(t.dtype, `${path}.dtype`) as Program['inputs'][number]['dtype'], shape: arr(t.shape, `${path}.shape`, int), buffer: int(t.buffer, `${path}.buffer`) };
  };
  return {
    version: int(p.version, 'program.version'),
    name: str(p.name, 'program.name'),
    inputs: arr(p.inputs, 'program.inputs', binding),
    outputs: arr(p.outputs, 'program.outputs', binding),
    buffers: arr(p.buffers, 'program.buffers', (x, path) => {
      const b = obj(x, path);
      return {
        id: int(b.id, `${path}.id`),
        bytes: int(b.bytes, `${path}.bytes`),
        role: str(b.role, `${path}.role`) as Program['buffers'][number]['role'],
        ...(b.weightOffset === undefined ? {} : { weightOffset: int(b.weightOffset, `${path}.weightOffset`) }),
        ...(b.label === undefined ? {} : { label: str(b.label, `${path}.label`) }),
      };
    }),
    kernels: arr(p.kernels, 'program.kernels', (x, path) => {
      const k = obj(x, path);
      return { name: str(k.name, `${path}.name`), entryPoint: str(k.entryPoint, `${path}.entryPoint`), file: file(k.file, `${path}.file`), sha256: sha(k.sha256, `${path}.sha256`) };
    }),
    dispatches: arr(p.dispatches, 'program.dispatches', (x, path) => {
      const d = obj(x, path);
      const workgroups = arr(d.workgroups, `${path}.workgroups`, int);
      if (workgroups.length !== 3) fail(`${path}.workgroups must hold 3 counts, got ${workgroups.length}`);
      return {
        kernel: int(d.kernel, `${path}.kernel`),
        label: str(d.label, `${path}.label`),
        buffers: arr(d.buffers, `${path}.buffers`, int),
        // Range of each word (u32 or i32) is checked against the kernel by checkDispatch.
        ...(d.uniforms === undefined ? {} : { uniforms: arr(d.uniforms, `${path}.uniforms`, num) }),
        workgroups: workgroups as unknown as readonly [number, number, number],
      };
    }),
    requiredFeatures: arr(p.requiredFeatures, 'program.requiredFeatures', str),
    ...(p.state === undefined ? {} : { state: arr(p.state, 'program.state', binding) }),
    ...(p.stateUpdates === undefined ? {} : {
      stateUpdates: arr(p.stateUpdates, 'program.stateUpdates', (x, path) => {
        const u = obj(x, path);
        return { from: int(u.from, `${path}.from`), to: int(u.to, `${path}.to`) };
      }),
    }),
  };
}

function parseIr(v: unknown): ManifestIr {
  const ir = obj(v, 'ir');
  return {
    ...(ir.final === undefined ? {} : { final: file(ir.final, 'ir.final') }),
    ...(ir.weightRefs === undefined ? {} : {
      weightRefs: Object.fromEntries(Object.entries(obj(ir.weightRefs, 'ir.weightRefs')).map(([k, id]) => [k, int(id, `ir.weightRefs[${JSON.stringify(k)}]`)])),
    }),
    ...(ir.passes === undefined ? {} : { passes: arr(ir.passes, 'ir.passes', file) }),
  };
}

/**
 * The manifest as JSON for people and diffs: nested objects indented, while a "flat" value (an
 * array of numbers, or an object of scalars and such arrays: one buffer, one dispatch) stays on
 * one line, so a schedule of thousands of dispatches reads one per line.
 */
export function formatManifest(manifest: ArtifactManifest): string {
  return `${formatJson(manifest, '')}\n`;
}

function isFlat(v: unknown): boolean {
  const scalar = (x: unknown) => x === null || typeof x !== 'object';
  if (scalar(v)) return true;
  if (Array.isArray(v)) return v.every(scalar);
  return Object.values(v as object).every((x) => scalar(x) || (Array.isArray(x) && x.every(scalar)));
}

function formatJson(v: unknown, indent: string): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const flat = isFlat(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (flat) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
    return `[\n${v.map((x) => inner + formatJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  if (flat) return `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${formatJson(x, inner)}`).join(', ')} }`;
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${formatJson(x, inner)}`).join(',\n')}\n${indent}}`;
}
