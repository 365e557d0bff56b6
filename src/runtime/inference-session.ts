import { KilnError } from '../ir/errors.js';
import type { DType } from '../ir/types.js';
import { loadArtifact, type ArtifactFiles, type LoadedArtifact } from './artifact.js';
import { checkArtifactDevice, chooseVariant } from './artifact-device.js';
import { httpArtifactReader, type ArtifactSourceReader } from './artifact-read.js';
import type { GpuDevice } from './device.js';
import type { ArtifactManifest, ManifestTensor, Precision } from './manifest.js';
import { Session } from './session.js';
import { ShapePrograms, type FeedShapes } from './shape-programs.js';
import { ValuePrograms } from './value-programs.js';
import type { TensorData } from '../ir/tensor-data.js';
import { loadFiles, start, withDevice, type InferenceSessionOptions } from './inference-load.js';
import {
  fits, keptOutputs, onHost, programInputs, runArguments, userOutputs,
  type InferenceFeed, type InferenceFetches, type InferenceRunOptions, type Loaded, type PreferredOutputLocation,
} from './inference-io.js';
import type { SessionStats } from './session-options.js';
import { Tensor, tensorTypeOf, type StoredTensorType, type TensorElementType } from './tensor.js';

// The runtime API, shaped like ONNX Runtime Web's, so that code written for it runs unchanged:
//   const session = await InferenceSession.create('model.onnx');   // or its bytes, or an artifact
//   const { y } = await session.run({ x: new Tensor('float32', values, [8, 784]) });
//   await session.release();
// An artifact (`kiln compile MODEL -o OUT.kiln`) loads with no compiler. An ONNX file or its bytes
// is compiled on the fly (the compiler is then imported dynamically) and the result cached on
// disk; a model with symbolic input dimensions is compiled at its first run for the shapes fed,
// and over ranges of sizes once they vary (shape-programs.ts). An artifact may hold several
// variants (an f16 program and its f32 fallback): the session loads the first its device can run
// (`precision` says which).

/** Where a model comes from: an artifact folder path (Node) or URL, its files, or an ONNX file's path or bytes. */
export type ArtifactSource = string | URL | ArtifactFiles | Uint8Array | ArrayBuffer;

export type { InferenceFeed, InferenceFetches, InferenceRunOptions, OutputLocation, PreferredOutputLocation } from './inference-io.js';
export type { InferenceSessionOptions } from './inference-load.js';

/**
 * A named input or output, as ONNX Runtime's metadata (`isTensor`, `type`, `shape`) and with
 * kiln's dtype. A dimension bound at run time is its symbol, as ORT gives it: the ONNX model's
 * (`'batch'`), or the size an artifact compiled for a range of shapes names (`'W'`, `'32*H'`);
 * '' where the ONNX model declares neither an extent nor a symbol, as ORT gives it.
 */
export interface TensorInfo {
  readonly name: string;
  readonly isTensor: true;
  readonly dtype: DType;
  /** ORT's type name: an ONNX model's int64 input is 'int64' (kiln stores it in dtype i32). */
  readonly type: TensorElementType | StoredTensorType;
  readonly shape: readonly (number | string)[];
}

/** What a shape given as `inputShapes` reads as in metadata: a size over a range by its name (`'W'` for `'8<=W<=1280'`). */
function givenDim(d: number | string): number | string {
  return typeof d === 'number' ? d : /^\s*(?:\d+\s*<=\s*)?(.*?)\s*<=\s*\d+\s*$/.exec(d)?.[1] ?? d;
}

/** A dimension as ORT's metadata gives it: an ONNX dimension with neither extent nor symbol is ''. */
function ortDim(d: number | string): number | string {
  return d === -1 ? '' : d;
}

/** A tensor's metadata from its manifest entry: the size expressions of the extents that vary. */
function manifestInfo({ name, dtype, shape, dims }: ManifestTensor): TensorInfo {
  return { name, isTensor: true, dtype, type: tensorTypeOf(dtype), shape: dims ? [...dims] : [...shape] };
}

// Variables, so that bundlers leave these Node-only modules out of browser bundles; Node resolves
// them relative to this file at run time. The compiler is reached only for ONNX models.
const NODE_LOADER = './artifact-node.js';
const ONNX_COMPILER = '../compile-cache.js';

/** A model loaded on a WebGPU device, ready to run many times. */
export class InferenceSession {
  readonly inputMetadata: readonly TensorInfo[];
  readonly outputMetadata: readonly TensorInfo[];
  private readonly gpu: GpuDevice;
  private current: Loaded | undefined;
  /** An ONNX model's programs, compiled per set of shapes or over ranges of them (and per value of inputs compiled in). */
  private readonly programs: ValuePrograms<Loaded> | undefined;
  private readonly ownsDevice: boolean;
  private readonly preferredOutputLocation: PreferredOutputLocation | undefined;
  private released = false;
  /** Feed names run() was given that are not inputs, each warned about once. */
  private readonly ignoredFeeds = new Set<string>();
  /** Every run's promise, settled or not: release() waits for them before freeing anything. */
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(gpu: GpuDevice, opts: InferenceSessionOptions, io: { inputs: TensorInfo[]; outputs: TensorInfo[] }, loaded?: Loaded, programs?: ValuePrograms<Loaded>) {
    this.gpu = gpu;
    this.ownsDevice = !opts.device;
    this.preferredOutputLocation = opts.preferredOutputLocation;
    this.inputMetadata = io.inputs;
    this.outputMetadata = io.outputs;
    this.current = loaded;
    this.programs = programs;
  }

  /**
   * Loads a model: an artifact folder path (Node), a URL or a path relative to the page (fetched),
   * an artifact's files, or an ONNX model (a path ending in .onnx, or its bytes), compiled for
   * the device. Pipelines are created here, or at the first run for an ONNX model with symbolic
   * input dimensions and no `inputShapes`.
   */
  static async create(source: ArtifactSource, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return InferenceSession.fromOnnx(toBytes(source), opts);
    if (typeof source !== 'string' && !(source instanceof URL)) return InferenceSession.fromFiles(source, opts);
    const url = source instanceof URL ? source : /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? new URL(source) : undefined;
    const local = isNode() && (!url || url.protocol === 'file:');
    if (/\.onnx$/i.test(url ? url.pathname : (source as string))) {
      if (local) return InferenceSession.fromOnnx(url ? decodeURIComponent(url.pathname) : (source as string), opts);
      const response = await fetch(url ?? (source as string));
      if (!response.ok) throw new KilnError(`cannot fetch ONNX model ${String(source)}: HTTP ${response.status}`);
      return InferenceSession.fromOnnx(new Uint8Array(await response.arrayBuffer()), opts);
    }
    if (local) {
      const node = await importNodeOnly<typeof import('./artifact-node.js')>(NODE_LOADER, 'artifact folder loader', 'read the files yourself and use InferenceSession.fromFiles');
      return InferenceSession.fromReader(await node.artifactDirReader(url ?? (source as string)), opts);
    }
    return InferenceSession.fromUrl(url ?? (source as string), opts);
  }

  /** Fetches the artifact folder at `baseUrl` (its manifest, then the chosen variant's files) and loads it. */
  static async fromUrl(baseUrl: string | URL, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    return InferenceSession.fromReader(httpArtifactReader(baseUrl), opts);
  }

  /** Validates artifact files already in memory (those of the chosen variant) and loads them. */
  static async fromFiles(files: ArtifactFiles, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    return withDevice(opts, async (gpu) => InferenceSession.artifactSession(gpu, opts, await loadFiles(files, gpu, opts)));
  }

  /** Loads a validated artifact on the device: the first of its loaded variants the device can run. */
  static async fromArtifact(artifact: LoadedArtifact, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    return withDevice(opts, async (gpu) => {
      const loaded = await start(artifact.manifest, checkArtifactDevice(artifact, gpu, opts), gpu, opts);
      return InferenceSession.artifactSession(gpu, opts, loaded);
    });
  }

  /** Reads the manifest, chooses the variant for the device, then reads and validates only its files. */
  private static async fromReader(reader: ArtifactSourceReader, opts: InferenceSessionOptions): Promise<InferenceSession> {
    const manifest = await reader.manifest();
    return withDevice(opts, async (gpu) => {
      const index = chooseVariant(manifest, gpu, opts);
      const artifact = await loadArtifact(await reader.files(manifest, [index]), { variants: [index] });
      return InferenceSession.artifactSession(gpu, opts, await start(artifact.manifest, artifact.variants[0]!, gpu, opts));
    });
  }

  private static artifactSession(gpu: GpuDevice, opts: InferenceSessionOptions, loaded: Loaded): InferenceSession {
    return new InferenceSession(gpu, opts, { inputs: loaded.manifest.inputs.map(manifestInfo), outputs: loaded.manifest.outputs.map(manifestInfo) }, loaded);
  }

  /** An ONNX model (a path in Node, or bytes): compiled now if its input shapes are known, else at the first run. */
  private static async fromOnnx(source: string | Uint8Array, opts: InferenceSessionOptions): Promise<InferenceSession> {
    const compiler = await importNodeOnly<typeof import('../compile-cache.js')>(ONNX_COMPILER, 'ONNX compiler', 'compile the model with `kiln compile MODEL -o OUT.kiln` and load OUT.kiln');
    const model = await compiler.OnnxModel.open(source, {
      ...(opts.precision ? { precision: opts.precision } : {}),
      ...(opts.compileCache !== undefined ? { cache: opts.compileCache } : {}),
      ...(opts.externalData ? { externalData: opts.externalData } : {}),
    });
    return withDevice(opts, async (gpu) => {
      let session: InferenceSession | undefined;
      const overrides = opts.freeDimensionOverrides ?? {};
      const declared = model.inputs.map((i) => ({ ...i, dims: i.dims.map((d) => (typeof d === 'string' && Object.hasOwn(overrides, d) ? overrides[d]! : d)) }));
      const release = (l: Loaded) => {
        if (session!.current === l) session!.current = undefined;
        l.session.destroy();
      };
      const given = opts.inputShapes ?? {};
      const complete = declared.every((i) => given[i.name] || i.dims.every((d) => typeof d === 'number' && d >= 0));
      const programs = new ValuePrograms<Loaded>({
        programs: (values) => new ShapePrograms<Loaded>({
          inputs: declared,
          compile: async (spec) => (session!.current = { ...(await loadFiles(await model.artifactFor(spec, gpu, values), gpu, opts)), constants: Object.keys(values) }),
          serves: fits,
          release,
          ...(opts.dynamicShapes !== undefined ? { dynamic: opts.dynamicShapes } : {}),
          warn: (m) => console.warn(m),
        }),
        ...(complete ? { ahead: Object.fromEntries(declared.map((i) => [i.name, given[i.name] ?? i.dims])) } : {}),
        release,
      });
      // An int64 input reads as ORT gives it ('int64'), and takes int64 Tensors, stored narrowed.
      const inputs = declared.map((i): TensorInfo => ({
        name: i.name, isTensor: true, dtype: i.dtype, type: i.storedType ?? tensorTypeOf(i.dtype), shape: (given[i.name] ?? i.dims).map(givenDim).map(ortDim),
      }));
      session = new InferenceSession(gpu, opts, { inputs, outputs: [] }, undefined, programs);
      await programs.prepare();
      // Compiled: the outputs as compiled; else as the model declares them.
      (session as { outputMetadata: readonly TensorInfo[] }).outputMetadata = session.current?.manifest.outputs.map(manifestInfo)
        ?? model.outputs.map((o) => ({ name: o.name, isTensor: true, dtype: o.dtype ?? 'f32', type: tensorTypeOf(o.dtype ?? 'f32'), shape: o.dims.map(ortDim) }));
      return session;
    });
  }

  /** The loaded artifact's manifest (for an ONNX model: that of the last shapes compiled). */
  get manifest(): ArtifactManifest {
    return this.loaded('manifest').manifest;
  }

  /** The precision of the variant that was loaded (e.g. 'fp32' where the device lacks shader-f16). */
  get precision(): Precision {
    return this.loaded('precision').variant.precision;
  }

  /** The loaded variant's position in the artifact's variants (0: the preferred one). */
  get variant(): number {
    return this.loaded('variant').variant.index;
  }

  get inputNames(): string[] {
    return this.inputMetadata.map((t) => t.name);
  }

  get outputNames(): string[] {
    return this.outputMetadata.map((t) => t.name);
  }

  /** The device the session runs on. */
  get device(): GpuDevice {
    return this.gpu;
  }

  /** What the underlying session created and did (pipelines, buffers, runs, submits). */
  get stats(): Readonly<SessionStats> {
    return this.loaded('stats').session.stats;
  }

  private loaded(what: string): Loaded {
    if (!this.current) throw new KilnError(`${what}: the model is compiled at its first run (its input shapes are symbolic); run it first, or give inputShapes`);
    return this.current;
  }

  /**
   * Runs the model on named inputs (one per input; a bare typed array takes the declared dtype
   * and shape) and resolves to the outputs as Tensors by name: all, or those `fetches` names (only
   * those are read back). As ONNX Runtime's, it takes `(feeds, fetches, options)` or
   * `(feeds, options)`. Concurrent runs are queued.
   */
  run(feeds: Readonly<Record<string, InferenceFeed>>, fetches?: InferenceFetches | InferenceRunOptions, options?: InferenceRunOptions): Promise<Record<string, Tensor>> {
    const result = this.runChecked(feeds, fetches, options);
    this.pending = Promise.allSettled([this.pending, result]);
    return result;
  }

  private async runChecked(given: Readonly<Record<string, InferenceFeed>>, arg1?: InferenceFetches | InferenceRunOptions, arg2?: InferenceRunOptions): Promise<Record<string, Tensor>> {
    if (this.released) throw new KilnError('run(): the session was released');
    if (typeof given !== 'object' || given === null || ArrayBuffer.isView(given)) throw new KilnError('run() takes an object of named inputs, e.g. { x: new Tensor(\'float32\', data, dims) }');
    const feeds = this.modelFeeds(given);
    const { fetches, options } = runArguments(arg1, arg2, this.outputNames);
    const places = this.preferredOutputLocation;
    const unplaced = typeof places === 'object' ? Object.keys(places).filter((n) => !this.outputNames.includes(n)) : [];
    if (unplaced.length) throw new KilnError(`preferredOutputLocation names ${unplaced.map((n) => `'${n}'`).join(', ')}, not outputs of the model; its outputs are ${this.outputNames.map((n) => `'${n}'`).join(', ')}`);
    const timeout = options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {};
    const runOn = async (loaded: Loaded) => {
      const inputs = programInputs(loaded, feeds);
      if (!(loaded.session instanceof Session)) return userOutputs(loaded, await loaded.session.run(await onHost(inputs)));
      const keep = keptOutputs(loaded, fetches ?? this.outputNames, this.preferredOutputLocation);
      const outputs = fetches?.filter((n) => !keep.includes(n));
      return userOutputs(loaded, await loaded.session.run(inputs, { ...(outputs ? { outputs } : {}), ...(keep.length ? { keep } : {}), ...timeout }));
    };
    const all = this.programs ? await this.programs.run(this.feedData(feeds), this.feedShapes(feeds), runOn) : await runOn(this.current!);
    return Object.fromEntries((fetches ?? Object.keys(all)).map((name) => [name, Tensor.from(all[name]!)]));
  }

  /**
   * The feeds that are inputs of the model. Others are left out, as ONNX Runtime leaves them
   * (code may feed every tensor it has), with one warning per name, so that a typo is seen.
   */
  private modelFeeds(feeds: Readonly<Record<string, InferenceFeed>>): Readonly<Record<string, InferenceFeed>> {
    const extra = Object.keys(feeds).filter((n) => !this.inputNames.includes(n));
    if (!extra.length) return feeds;
    for (const n of extra.filter((x) => !this.ignoredFeeds.has(x))) {
      this.ignoredFeeds.add(n);
      console.warn(`kiln: run(): ignoring feed '${n}', which is not an input of the model (as ONNX Runtime does); its inputs are ${this.inputNames.map((x) => `'${x}'`).join(', ')}`);
    }
    return Object.fromEntries(Object.entries(feeds).filter(([n]) => !extra.includes(n)));
  }

  /** The shape of each input as fed (an ONNX model with symbolic dimensions compiles for them). */
  private feedShapes(feeds: Readonly<Record<string, InferenceFeed>>): FeedShapes {
    const shapes: Record<string, readonly number[]> = {};
    for (const info of this.inputMetadata) {
      const feed = feeds[info.name];
      if (feed === undefined) throw new KilnError(`run(): input '${info.name}' is missing; the model's inputs are ${this.inputNames.map((n) => `'${n}'`).join(', ')}`);
      if (ArrayBuffer.isView(feed)) {
        if (info.shape.some((d) => typeof d !== 'number' || d < 0)) throw new KilnError(`run(): input '${info.name}' has symbolic dimensions [${info.shape.join(',')}]: feed a Tensor with its dims, not a bare array`);
        shapes[info.name] = info.shape as readonly number[];
        continue;
      }
      const shape = 'dims' in feed ? feed.dims : feed.shape;
      // Fixed extents (the model's, or set by freeDimensionOverrides) are checked before compiling anything for them.
      const wrong = info.shape.findIndex((d, k) => typeof d === 'number' && d >= 0 && shape.length === info.shape.length && shape[k] !== d);
      if (wrong >= 0) throw new KilnError(`run(): input '${info.name}' is [${info.shape.join(',')}]: dimension ${wrong} must be ${info.shape[wrong]}, got [${shape.join(',')}]`);
      shapes[info.name] = shape;
    }
    return shapes;
  }

  /** The feeds as tensor data (a bare typed array with its declared dtype and shape), for inputs an ONNX model compiles in. */
  private feedData(feeds: Readonly<Record<string, InferenceFeed>>): Record<string, TensorData> {
    return Object.fromEntries(this.inputMetadata.flatMap((info) => {
      const feed = feeds[info.name];
      if (feed === undefined) return [];
      return [[info.name, ArrayBuffer.isView(feed) ? { dtype: info.dtype, shape: info.shape as number[], data: feed } : feed as TensorData]];
    }));
  }

  /** Frees the session's GPU buffers, and its device when the session acquired it. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    // Once every run has settled none is left using the buffers.
    await this.pending;
    const loaded = await Promise.allSettled(this.programs?.all() ?? []);
    const sessions = new Set([this.current?.session, ...loaded.map((l) => (l.status === 'fulfilled' ? l.value.session : undefined))]);
    for (const s of sessions) s?.destroy();
    if (this.ownsDevice) this.gpu.destroy();
  }
}

/** A Node-only module of kiln, imported by a specifier bundlers do not follow. */
async function importNodeOnly<T>(specifier: string, what: string, instead: string): Promise<T> {
  if (!isNode()) throw new KilnError(`kiln's ${what} runs in Node only; in a browser, ${instead}`);
  try {
    return (await import(specifier)) as T;
  } catch (e) {
    // E.g. kiln bundled into one file, where the module is not next to this one.
    throw new KilnError(`cannot load kiln's ${what} (${(e as Error).message}); ${instead}`);
  }
}

function toBytes(source: ArrayBuffer | ArrayBufferView): Uint8Array {
  return source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}
