import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import type { DType, TypedArray } from '../ir/types.js';
import { checkArtifactDevice, loadArtifact, type ArtifactFiles, type LoadedArtifact } from './artifact.js';
import { fetchArtifactFiles } from './artifact-read.js';
import { acquireDevice, type GpuDevice } from './device.js';
import type { ArtifactManifest } from './manifest.js';
import { Session, type SessionOptions, type SessionStats } from './session.js';

// The runtime-only API for compiled artifacts, shaped like ONNX Runtime Web's:
//   const session = await InferenceSession.create('mlp.kiln');
//   const { y } = await session.run({ x: tensorData('f32', [8, 784], values) });
//   await session.release();

/** Where an artifact comes from: a folder path (Node), a URL (fetched), or its files. */
export type ArtifactSource = string | URL | ArtifactFiles;

export interface InferenceSessionOptions extends SessionOptions {
  /**
   * The device to run on; the session shares it and release() leaves it alive. Without one the
   * session acquires its own device and destroys it on release().
   */
  readonly device?: GpuDevice;
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
  private readonly session: Session;
  private readonly ownsDevice: boolean;
  private released = false;
  /** The last run's promise, settled or not: release() waits for it before freeing anything. */
  private lastRun: Promise<unknown> = Promise.resolve();

  private constructor(artifact: LoadedArtifact, session: Session, ownsDevice: boolean) {
    this.manifest = artifact.manifest;
    const info = ({ name, dtype, shape }: TensorInfo): TensorInfo => ({ name, dtype, shape: [...shape] });
    this.inputMetadata = artifact.program.inputs.map(info);
    this.outputMetadata = artifact.program.outputs.map(info);
    this.session = session;
    this.ownsDevice = ownsDevice;
  }

  /**
   * Loads an artifact: a folder path (in Node), a URL or a path relative to the page (fetched),
   * or its files. Everything is validated before any GPU work; pipelines are created here.
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
      return InferenceSession.fromArtifact(await node.loadArtifactDir(url ?? (source as string)), opts);
    }
    return InferenceSession.fromUrl(url ?? (source as string), opts);
  }

  /** Fetches the artifact folder at `baseUrl` (see fetchArtifactFiles) and loads it. */
  static async fromUrl(baseUrl: string | URL, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    return InferenceSession.fromFiles(await fetchArtifactFiles(baseUrl), opts);
  }

  /** Validates artifact files already in memory and loads them. */
  static async fromFiles(files: ArtifactFiles, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    return InferenceSession.fromArtifact(await loadArtifact(files), opts);
  }

  /** Loads a validated artifact on the device (after checking the device can run it). */
  static async fromArtifact(artifact: LoadedArtifact, opts: InferenceSessionOptions = {}): Promise<InferenceSession> {
    const { device, ...sessionOpts } = opts;
    const gpu = device ?? (await acquireDevice());
    try {
      checkArtifactDevice(artifact, gpu);
      const session = await Session.create(gpu, artifact.program, { label: artifact.manifest.model, ...sessionOpts });
      return new InferenceSession(artifact, session, !device);
    } catch (e) {
      if (!device) gpu.destroy();
      throw e;
    }
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
    const byName = new Map(this.inputMetadata.map((t) => [t.name, t]));
    const inputs: Record<string, TensorData> = {};
    for (const [name, feed] of Object.entries(feeds)) {
      const info = byName.get(name);
      inputs[name] = info && ArrayBuffer.isView(feed) ? { dtype: info.dtype, shape: [...info.shape], data: feed } : feed as TensorData;
    }
    const result = this.session.run(inputs);
    this.lastRun = result.catch(() => undefined);
    return result;
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

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}
