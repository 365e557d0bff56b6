import { loadArtifact, type ArtifactFiles, type LoadedVariant } from './artifact.js';
import { chooseVariant } from './artifact-device.js';
import { acquireDevice, type GpuDevice } from './device.js';
import { checkOutputLocations, type Loaded, type PreferredOutputLocation } from './inference-io.js';
import { parseManifest, type ArtifactManifest, type Precision } from './manifest.js';
import { SegmentedSession } from './segmented.js';
import { Session } from './session.js';
import type { SessionOptions } from './session-options.js';
import type { DynamicShapes, ShapeSpec } from './shape-programs.js';

// Loading an InferenceSession's programs: its options, its device, an artifact's files, a session on them.

export interface InferenceSessionOptions extends SessionOptions {
  /**
   * The device to run on; the session shares it and release() leaves it alive. Without one the
   * session acquires its own device and destroys it on release().
   */
  readonly device?: GpuDevice;
  /**
   * Load the variant of this precision, failing if the artifact has none or the device cannot
   * run it. Default: the first variant (in the artifact's order of preference) the device can run.
   * For an ONNX model: the precision to compile at (default 'fp32').
   */
  readonly precision?: Precision;
  /**
   * An ONNX model's input shapes by name, binding its symbolic dimensions before the first run:
   * each extent a number, or a size over a range (`'W<=1280'`, `'8<=W<=1280'`, `'32*H<=960'`).
   */
  readonly inputShapes?: ShapeSpec;
  /**
   * How an ONNX model with symbolic input dimensions serves the shapes it is fed: 'auto' (default)
   * compiles the first set at fixed sizes and, once shapes vary, the varying extents over ranges
   * (up to the next power of two of the largest seen); true compiles every open dimension over a
   * range from the first run; false compiles once per set of shapes.
   */
  readonly dynamicShapes?: DynamicShapes;
  /**
   * ONNX Runtime's option: a size for each named symbolic dimension of an ONNX model (`{ batch: 1 }`),
   * fixed wherever the model's inputs use that symbol; runs must then feed that size.
   */
  readonly freeDimensionOverrides?: Readonly<Record<string, number>>;
  /**
   * Where ONNX models compiled on the fly are cached (Node): a folder, or false for no cache.
   * Default: $KILN_CACHE_DIR, else ~/.cache/kiln/compiled.
   */
  readonly compileCache?: string | false;
  /**
   * An ONNX model's external data files (Node), as ONNX Runtime takes them: each a path (the
   * location the model names), or `{ path: location, data }` with the bytes or the file to read.
   * Needed for a model given as bytes whose weights sit in external files; a model given by
   * path reads them from its folder.
   */
  readonly externalData?: readonly (string | { readonly path: string; readonly data: Uint8Array | ArrayBuffer | string })[];
  /** Accepted for ONNX Runtime compatibility and ignored: kiln always runs on WebGPU. */
  readonly executionProviders?: readonly unknown[];
  /**
   * ONNX Runtime's option: where outputs come back, 'cpu' (default) or 'gpu-buffer' (a Tensor
   * whose data stays in a device buffer, for a later run to take as an input without a trip through
   * the host: a decoder's KV cache), for every output or by output name. An output kiln cannot keep
   * on the device (a model with CPU segments; an f16 output computed by an f32 variant) comes back
   * on the host; a Tensor's `location` says where.
   */
  readonly preferredOutputLocation?: PreferredOutputLocation;
}

/** Validates an artifact's files (those of the variant chosen for the device) and starts a session on them. */
export async function loadFiles(files: ArtifactFiles, gpu: GpuDevice, opts: InferenceSessionOptions): Promise<Loaded> {
  const manifest = parseManifest(files.manifest);
  const index = chooseVariant(manifest, gpu, opts);
  // The files as given: a version-1 manifest, once parsed into the current layout, would not parse again as version 1.
  const artifact = await loadArtifact(files, { variants: [index] });
  return start(artifact.manifest, artifact.variants[0]!, gpu, opts);
}

/** Starts a session on a loaded variant: a segmented one where it has CPU segments. */
export async function start(manifest: ArtifactManifest, variant: LoadedVariant, gpu: GpuDevice, opts: InferenceSessionOptions): Promise<Loaded> {
  const label = manifest.variants.length > 1 ? `${manifest.model} (${variant.precision})` : manifest.model;
  const sessionOpts: SessionOptions = {
    label,
    ...(opts.wait !== undefined ? { wait: opts.wait } : {}),
    ...(opts.warmup !== undefined ? { warmup: opts.warmup } : {}),
    ...(opts.inputSlots !== undefined ? { inputSlots: opts.inputSlots } : {}),
    ...(opts.runTimeoutMs !== undefined ? { runTimeoutMs: opts.runTimeoutMs } : {}),
    ...(opts.recover !== undefined ? { recover: opts.recover } : {}),
  };
  const session = variant.segmented ? await SegmentedSession.create(gpu, variant.segmented, sessionOpts) : await Session.create(gpu, variant.program, sessionOpts);
  return { manifest, variant, session };
}

/** Runs `load` on the caller's device, or on a device acquired for it (destroyed if loading fails). */
export async function withDevice<T>(opts: InferenceSessionOptions, load: (gpu: GpuDevice) => Promise<T>): Promise<T> {
  checkOutputLocations(opts.preferredOutputLocation);
  const gpu = opts.device ?? (await acquireDevice());
  try {
    return await load(gpu);
  } catch (e) {
    if (!opts.device) gpu.destroy();
    throw e;
  }
}
