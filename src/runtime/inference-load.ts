import { loadArtifact, type ArtifactFiles, type LoadedVariant } from './artifact.js';
import { chooseVariant } from './artifact-device.js';
import { acquireDevice, type GpuDevice } from './device.js';
import { checkOutputLocations, type Loaded } from './inference-io.js';
import type { InferenceSessionOptions } from './inference-session.js';
import { parseManifest, type ArtifactManifest } from './manifest.js';
import { SegmentedSession } from './segmented.js';
import { Session } from './session.js';
import type { SessionOptions } from './session-options.js';

// Loading an InferenceSession's programs: its device, an artifact's files, a session on them.

/** Validates an artifact's files (those of the variant chosen for the device) and starts a session on them. */
export async function loadFiles(files: ArtifactFiles, gpu: GpuDevice, opts: InferenceSessionOptions): Promise<Loaded> {
  const manifest = parseManifest(files.manifest);
  const index = chooseVariant(manifest, gpu, opts);
  // The files as given: a version-1 manifest, once parsed into the current layout, would not parse again as version 1.
  const artifact = await loadArtifact(files, { variants: [index] });
  return start(artifact.manifest, artifact.variants[0]!, gpu, opts);
}

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
