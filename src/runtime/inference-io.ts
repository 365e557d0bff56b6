import { KilnError } from '../ir/errors.js';
import { fromF16Array, toF16Array } from '../ir/f16.js';
import type { TensorData } from '../ir/tensor-data.js';
import { formatShapeType, type TypedArray } from '../ir/types.js';
import type { LoadedVariant } from './artifact.js';
import { DeviceTensor } from './device-tensor.js';
import { variantInterface, type ArtifactManifest, type ManifestTensor } from './manifest.js';
import type { SegmentedSession } from './segmented.js';
import { Session } from './session.js';
import type { RunOutputs } from './session-options.js';
import type { FeedShapes } from './shape-programs.js';
import { bindSizes } from './sizes.js';
import type { Tensor } from './tensor.js';

// An InferenceSession's feeds and outputs as its loaded program takes and gives them.

/** An input: a Tensor or tensor data, or just its typed array (dtype and shape are then the declared ones). */
export type InferenceFeed = Tensor | TensorData | TypedArray;

/** The outputs to return: names, or an object whose keys are the names (ORT's fetches). Default: all. */
export type InferenceFetches = readonly string[] | Readonly<Record<string, unknown>>;

/**
 * One loaded program and its session: an artifact has one, an ONNX model one per set of input
 * shapes. A variant with segments on the CPU runs in a SegmentedSession.
 */
export interface Loaded {
  readonly manifest: ArtifactManifest;
  readonly variant: LoadedVariant;
  readonly session: Session | SegmentedSession;
  /** The model's inputs compiled in as constants (value-programs.ts): fed, but not to the program. */
  readonly constants?: readonly string[];
}

/** Whether a loaded program takes these shapes: its sizes, bound from them, within their ranges. */
export function fits({ variant }: Loaded, shapes: FeedShapes): boolean {
  // A program with CPU segments binds its sizes segment by segment, as it runs.
  if (variant.segmented) return false;
  try {
    bindSizes(variant.program, new Map(Object.entries(shapes)));
    return true;
  } catch {
    return false;
  }
}

/**
 * Options of one run: kiln's deadline, and ONNX Runtime's RunOptions fields, accepted so that
 * code written for it runs, and ignored (kiln has no run-level logging or termination).
 */
export interface InferenceRunOptions {
  /** This run's deadline in ms, instead of the session's runTimeoutMs. */
  readonly timeoutMs?: number;
  readonly logSeverityLevel?: number;
  readonly logVerbosityLevel?: number;
  readonly terminate?: boolean;
  readonly tag?: string;
  readonly extra?: Record<string, unknown>;
}

const RUN_OPTION_KEYS: readonly string[] = ['timeoutMs', 'logSeverityLevel', 'logVerbosityLevel', 'terminate', 'tag', 'extra'];

/**
 * run()'s arguments after the feeds, as ONNX Runtime reads them: `(fetches, options)` or
 * `(options)`. Fetches are output names, or an object keyed by them (values null or a Tensor);
 * an object of run options' keys alone is the options. Names that are neither fail, naming the
 * model's outputs. Undefined fetches: every output.
 */
export function runArguments(arg1: InferenceFetches | InferenceRunOptions | undefined, arg2: InferenceRunOptions | undefined, outputs: readonly string[]): { fetches?: string[]; options: InferenceRunOptions } {
  if (arg1 === undefined) return { options: arg2 ?? {} };
  if (typeof arg1 !== 'object' || arg1 === null || ArrayBuffer.isView(arg1)) throw new KilnError(`run(feeds, fetches, options): fetches must be output names or an object keyed by them, got ${arg1 === null ? 'null' : typeof arg1}`);
  const names = Array.isArray(arg1) ? (arg1 as unknown[]) : Object.keys(arg1);
  if (!Array.isArray(arg1) && names.length && names.every((n) => RUN_OPTION_KEYS.includes(n as string))) return { options: arg1 as InferenceRunOptions };
  const unknown = names.filter((n) => typeof n !== 'string' || !outputs.includes(n));
  if (unknown.length) throw new KilnError(`run(): no output named ${unknown.map((n) => `'${String(n)}'`).join(', ')}; the model's outputs are ${outputs.map((n) => `'${n}'`).join(', ')}${Array.isArray(arg1) ? '' : `, and run options are ${RUN_OPTION_KEYS.join(', ')}`}`);
  return { fetches: names as string[], options: arg2 ?? {} };
}

/**
 * The shape of a bare typed array fed for `info`: its declared shape, or, where one extent varies
 * from run to run, the one that extent's size the array's length gives.
 */
export function bareShape(info: ManifestTensor, data: ArrayBufferView): number[] {
  if (!info.dims) return [...info.shape];
  const varying = info.dims.flatMap((d, i) => (typeof d === 'number' ? [] : [i]));
  const fixed = info.dims.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  const length = (data as unknown as ArrayLike<number>).length;
  if (varying.length !== 1 || fixed === 0 || length % fixed !== 0) {
    throw new KilnError(`input '${info.name}' [${info.dims.join(',')}] has extents that vary: feed a tensor with its shape, not a bare array`);
  }
  return info.dims.map((d) => (typeof d === 'number' ? d : length / fixed));
}

/**
 * The feeds as the loaded program takes them: a bare array typed as declared, f16 widened for an
 * f32 variant, a Tensor on the device as its DeviceTensor (of the program's dtype: one an earlier
 * run kept).
 */
export function programInputs({ manifest, variant, constants = [] }: Loaded, feeds: Readonly<Record<string, InferenceFeed>>): Record<string, TensorData | DeviceTensor> {
  const byName = new Map(manifest.inputs.map((t, i) => [t.name, { info: t, binding: variantInterface(variant.spec).inputs[i]! }]));
  const inputs: Record<string, TensorData | DeviceTensor> = {};
  for (const [name, feed] of Object.entries(feeds)) {
    if (constants.includes(name)) continue;
    const entry = byName.get(name);
    const onDevice = (feed as Partial<Tensor>).deviceTensor;
    if (onDevice) {
      if (entry && onDevice.dtype !== entry.binding.dtype) throw new KilnError(`input '${name}' is ${formatShapeType(entry.binding.dtype, entry.binding.shape)} on the device, got ${onDevice.describe()}`);
      inputs[name] = onDevice;
      continue;
    }
    let t = entry && ArrayBuffer.isView(feed) ? { dtype: entry.info.dtype, shape: bareShape(entry.info, feed), data: feed } : feed as TensorData;
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

/** The outputs as the artifact declares them: an f16 output of an f32 variant rounded to f16 (such an output is never kept on the device). */
export function userOutputs({ manifest, variant }: Loaded, out: RunOutputs): RunOutputs {
  manifest.outputs.forEach((info, i) => {
    const t = out[info.name];
    if (t && !(t instanceof DeviceTensor) && variantInterface(variant.spec).outputs[i]!.dtype !== info.dtype && info.dtype === 'f16') {
      out[info.name] = { dtype: 'f16', shape: [...t.shape], data: toF16Array(t.data as Float32Array) };
    }
  });
  return out;
}

/** ORT's places for an output that kiln keeps: on the host, or in a device buffer. */
export type OutputLocation = 'cpu' | 'gpu-buffer';

/** ORT's preferredOutputLocation: one place for every output, or a place by output name (others: 'cpu'). */
export type PreferredOutputLocation = OutputLocation | Readonly<Record<string, OutputLocation>>;

/** Checks ORT's preferredOutputLocation; ORT's other places (textures, pinned host memory, ML tensors) are refused. */
export function checkOutputLocations(preferred: PreferredOutputLocation | undefined): void {
  const check = (where: unknown, what: string) => {
    if (where !== 'cpu' && where !== 'gpu-buffer') {
      throw new KilnError(`preferredOutputLocation${what}: ${JSON.stringify(where)} is not a place kiln keeps outputs ('cpu' or 'gpu-buffer')`);
    }
  };
  if (preferred === undefined || typeof preferred === 'string') return check(preferred ?? 'cpu', '');
  if (typeof preferred !== 'object' || preferred === null) throw new KilnError(`preferredOutputLocation must be 'cpu', 'gpu-buffer' or an object of them by output name, got ${String(preferred)}`);
  for (const [name, where] of Object.entries(preferred)) check(where, ` for '${name}'`);
}

/**
 * The outputs of `names` that a run of `loaded` keeps on the device, as `preferred` asks: a program
 * with CPU segments, and an f16 output an f32 variant computes (rounded on the host), are read
 * back, as ORT gives an output it cannot keep where asked on the host.
 */
export function keptOutputs({ manifest, variant, session }: Loaded, names: readonly string[], preferred: PreferredOutputLocation | undefined): string[] {
  if (preferred === undefined || !(session instanceof Session)) return [];
  const outputs = variantInterface(variant.spec).outputs;
  return names.filter((name) => {
    const i = manifest.outputs.findIndex((o) => o.name === name);
    const where = typeof preferred === 'string' ? preferred : preferred[name];
    return where === 'gpu-buffer' && i >= 0 && outputs[i]!.dtype === manifest.outputs[i]!.dtype;
  });
}

/** Inputs a program with CPU segments takes: any on the device downloaded first. */
export async function onHost(inputs: Readonly<Record<string, TensorData | DeviceTensor>>): Promise<Record<string, TensorData>> {
  const entries = await Promise.all(Object.entries(inputs).map(async ([name, t]) => [name, t instanceof DeviceTensor ? await t.read() : t] as const));
  return Object.fromEntries(entries);
}
