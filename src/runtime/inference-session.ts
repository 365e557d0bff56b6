import { KilnError } from '../ir/errors.js';
import { fromF16Array, toF16Array } from '../ir/f16.js';
import type { TensorData } from '../ir/tensor-data.js';
import { formatShapeType, type DType, type TypedArray } from '../ir/types.js';
import { checkArtifactDevice, chooseVariant, loadArtifact, type ArtifactFiles, type LoadedArtifact, type LoadedVariant } from './artifact.js';
import { httpArtifactReader, type ArtifactSourceReader } from './artifact-read.js';
import { acquireDevice, type GpuDevice } from './device.js';
import { parseManifest, type ArtifactManifest, type Precision } from './manifest.js';
import type { Program } from './program.js';
import { Session, type SessionOptions, type SessionStats } from './session.js';

// The runtime-only API for compiled artifacts, shaped like ONNX Runtime Web's:
//   const session = await InferenceSession.create('mlp.kiln');
//   const { y } = await session.run({ x: tensorData('f32', [8, 784], values) });
//   await session.release();
// An artifact may hold several variants (an f16 program and its f32 fallback): the session loads
// the first its device can run, reading only that variant's files, and says which (`precision`).

/** Where an artifact comes from: a folder path (Node), a URL (fetched), or its files. */
export type ArtifactSource = string | URL | ArtifactFiles;

export interface InferenceSessionOptions extends SessionOptions {
  /**
   * The device to run on; the session shares it and release() leaves it alive. Without one the
   * session acquires its own device and destroys it on release().
   */
  readonly device?: GpuDevice;
  /**
   * Load the variant of this precision, failing if the artifact has none or the device cannot
   * run it. Default: the first variant (in the artifact's order of preference) the device can run.
   */
  readonly precision?: Precision;
}

/** A named input or output as the artifact declares it. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** An input: tensor data, or just its typed array (dtype and shape are then the artifact's). */
export type InferenceFeed = TensorData | TypedArray;

// A variable, so that bundlers leave this Node-only module out of browser bundles (it imports
// node:fs); Node resolves it relative to this file at run time.
const NODE_LOADER = './artifact-node.js';

/** A compiled artifact loaded on a WebGPU device, ready to run many times. */
export class InferenceSession {
  readonly manifest: ArtifactManifest;
  readonly inputMetadata: readonly TensorInfo[];
  readonly outputMetadata: readonly TensorInfo[];
  /** The precision of the variant that was loaded (e.g. 'fp32' where the device lacks shader-f16). */
  readonly precision: Precision;
  /** The loaded variant's position in the artifact's variants (0: the preferred one). */
  readonly variant: number;
  private readonly program: Program;
  private readonly session: Session;
  private readonly ownsDevice: boolean;
  private released = false;
  /** The last run's promise, settled or not: release() waits for it before freeing anything. */
  private lastRun: Promise<unknown> = Promise.resolve();

  private constructor(manifest: ArtifactManifest, variant: LoadedVariant, session: Session, ownsDevice: boolean) {
    this.manifest = manifest;
    const info = ({ name, dtype, shape }: TensorInfo): TensorInfo => ({ name, dtype, shape: [...shape] });
    this.inputMetadata = manifest.inputs.map(info);
    this.outputMetadata = manifest.outputs.map(info);
    this.precision = variant.precision;
    this.variant = variant.index;
    this.program = variant.program;
    this.session = session;
    this.ownsDevice = ownsDevice;
  }

  /**
   * Loads an artifact: a folder path (in Node), a URL or a path relative to the page (fetched),
   * or its files. The variant to run is chosen for the device first; then its files are read and
   * validated before any GPU work; pipelines are created here.
   */
  static async create(source: ArtifactSource, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    if (typeof source !== 'string' && !(source instanceof URL)) return InferenceSession.fromFiles(source, opts);
    const url = source instanceof URL ? source : /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? new URL(source) : undefined;
    if (isNode() && (!url || url.protocol === 'file:')) {
      let node: typeof import('./artifact-node.js');
      try {
        node = (await import(NODE_LOADER)) as typeof import('./artifact-node.js');
      } catch (e) {
        // E.g. kiln bundled into one file, where the loader is not next to this module.
        throw new KilnError(`cannot load kiln's artifact folder loader (${(e as Error).message}); read the files yourself and use InferenceSession.fromFiles`);
      }
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
    const manifest = parseManifest(files.manifest);
    return withDevice(opts, async (gpu) => {
      const index = chooseVariant(manifest, gpu, opts);
      const artifact = await loadArtifact({ ...files, manifest }, { variants: [index] });
      return InferenceSession.start(artifact.manifest, artifact.variants[0]!, gpu, opts);
    });
  }

  /** Loads a validated artifact on the device: the first of its loaded variants the device can run. */
  static async fromArtifact(artifact: LoadedArtifact, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    return withDevice(opts, (gpu) => InferenceSession.start(artifact.manifest, checkArtifactDevice(artifact, gpu, opts), gpu, opts));
  }

  /** Reads the manifest, chooses the variant for the device, then reads and validates only its files. */
  private static async fromReader(reader: ArtifactSourceReader, opts: InferenceSessionOptions): Promise<InferenceSession> {
    const manifest = await reader.manifest();
    return withDevice(opts, async (gpu) => {
      const index = chooseVariant(manifest, gpu, opts);
      const artifact = await loadArtifact(await reader.files(manifest, [index]), { variants: [index] });
      return InferenceSession.start(artifact.manifest, artifact.variants[0]!, gpu, opts);
    });
  }

  private static async start(manifest: ArtifactManifest, variant: LoadedVariant, gpu: GpuDevice, opts: InferenceSessionOptions): Promise<InferenceSession> {
    const { device, precision: _precision, ...sessionOpts } = opts;
    const label = manifest.variants.length > 1 ? `${manifest.model} (${variant.precision})` : manifest.model;
    const session = await Session.create(gpu, variant.program, { label, ...sessionOpts });
    return new InferenceSession(manifest, variant, session, !device);
  }

  get inputNames(): string[] {
    return this.inputMetadata.map((t) => t.name);
  }

  get outputNames(): string[] {
    return this.outputMetadata.map((t) => t.name);
  }

  /** The device the session runs on. */
  get device(): GpuDevice {
    return this.session.gpu;
  }

  /** What the underlying session created and did (pipelines, buffers, runs, submits). */
  get stats(): Readonly<SessionStats> {
    return this.session.stats;
  }

  /**
   * Runs the artifact on named inputs (one per input; a bare typed array takes the declared dtype
   * and shape) and resolves to every output by name. Concurrent runs are queued.
   */
  run(feeds: Readonly<Record<string, InferenceFeed>>): Promise<Record<string, TensorData>> {
    if (this.released) return Promise.reject(new KilnError(`session of artifact '${this.manifest.model}' was released`));
    if (typeof feeds !== 'object' || feeds === null) return Promise.reject(new KilnError('run() takes an object of named inputs'));
    let inputs: Record<string, TensorData>;
    try {
      inputs = this.programInputs(feeds);
    } catch (e) {
      return Promise.reject(e);
    }
    const result = this.session.run(inputs).then((out) => this.userOutputs(out));
    this.lastRun = result.catch(() => undefined);
    return result;
  }

  /** The feeds as the loaded program takes them: a bare array typed as declared, f16 widened for an f32 variant. */
  private programInputs(feeds: Readonly<Record<string, InferenceFeed>>): Record<string, TensorData> {
    const byName = new Map(this.inputMetadata.map((t, i) => [t.name, { info: t, binding: this.program.inputs[i]! }]));
    const inputs: Record<string, TensorData> = {};
    for (const [name, feed] of Object.entries(feeds)) {
      const entry = byName.get(name);
      let t = entry && ArrayBuffer.isView(feed) ? { dtype: entry.info.dtype, shape: [...entry.info.shape], data: feed } : feed as TensorData;
      if (entry && entry.binding.dtype !== entry.info.dtype) {
        // The user's f16 tensor, computed by an f32 variant: every f16 is exact in f32.
        if (t?.dtype !== 'f16' || !(t.data instanceof Uint16Array)) {
          throw new KilnError(`input '${name}' is ${formatShapeType(entry.info.dtype, entry.info.shape)} (f16 bits in a Uint16Array), got ${t?.dtype === undefined ? typeof t : formatShapeType(t.dtype, t.shape ?? [])}`);
        }
        t = { dtype: 'f32', shape: [...t.shape], data: fromF16Array(t.data) };
      }
      inputs[name] = t;
    }
    return inputs;
  }

  /** The outputs as the artifact declares them: an f16 output of an f32 variant rounded to f16. */
  private userOutputs(out: Record<string, TensorData>): Record<string, TensorData> {
    this.outputMetadata.forEach((info, i) => {
      const t = out[info.name];
      if (t && this.program.outputs[i]!.dtype !== info.dtype && info.dtype === 'f16') {
        out[info.name] = { dtype: 'f16', shape: [...t.shape], data: toF16Array(t.data as Float32Array) };
      }
    });
    return out;
  }

  /** Frees the session's GPU buffers, and its device when the session acquired it. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    // Runs are queued in order, so once the last one settles none is left using the buffers.
    await this.lastRun;
    this.session.destroy();
    if (this.ownsDevice) this.session.gpu.destroy();
  }
}

/** Runs `load` on the caller's device, or on a device acquired for it (destroyed if loading fails). */
async function withDevice<T>(opts: InferenceSessionOptions, load: (gpu: GpuDevice) => Promise<T>): Promise<T> {
  const gpu = opts.device ?? (await acquireDevice());
  try {
    return await load(gpu);
  } catch (e) {
    if (!opts.device) gpu.destroy();
    throw e;
  }
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}
