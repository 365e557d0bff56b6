import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { compileForArtifact } from './compiler.js';
import { annotateKernels } from './codegen/kernel-listing.js';
import { kernelTarget } from './precision.js';
import { decodeModel, type ModelProtoObject } from './frontend/onnx/proto.js';
import { importModel } from './frontend/onnx/import.js';
import { externalDataDigest, externalDataFromDir, externalDataFromFiles, externalFilesDigest } from './frontend/onnx/file.js';
import { kilnDType, type ExternalDataReader } from './frontend/onnx/tensor.js';
import type { InputShapes } from './frontend/onnx/inputs.js';
import type { InputValue, InputValues } from './frontend/onnx/input-values.js';
import type { TensorData } from './ir/tensor-data.js';
import { KilnError } from './ir/errors.js';
import type { DType } from './ir/types.js';
import type { ArtifactFiles } from './runtime/artifact.js';
import { packArtifact } from './artifact-writer/pack.js';
import { readArtifactDir } from './runtime/artifact-node.js';
import { writeArtifactDir } from './artifact-writer/folder.js';
import type { GpuDevice } from './runtime/device.js';
import type { Precision } from './runtime/manifest.js';
import type { StoredTensorType } from './runtime/tensor.js';
import { sha256Hex } from './runtime/sha256.js';
import { KILN_VERSION } from './runtime/version.js';

// ONNX models compiled on the fly for `InferenceSession.create('model.onnx')`: the runtime reaches
// this module (and through it the compiler) only by a dynamic import, so loading an artifact
// never loads the compiler. Compiled artifacts are kept in a cache folder, keyed by everything
// that decides the kernels: the model's bytes, the bound input shapes, the precision, the
// adapter (kernel variants are chosen per adapter class) and this kiln's version.

/** A graph input as the ONNX model declares it: fixed extents, and symbols or -1 for the open ones. */
export interface DeclaredInput {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly (number | string)[];
  /** ORT's name of the declared type where kiln stores it in a wider dtype (an int64 input: 'int64'). */
  readonly storedType?: StoredTensorType;
}

export interface OnnxCompileOptions {
  /** Precision to compile at (default 'fp32'). */
  readonly precision?: Precision;
  /** The cache folder, or false for none (default: $KILN_CACHE_DIR, else ~/.cache/kiln/compiled). */
  readonly cache?: string | false;
  /**
   * The model's external data files, as ONNX Runtime's `externalData` option gives them: a path
   * (its location in the model), or a location with its bytes or the path to read them from.
   * Without it, a model opened from a path reads them from its folder.
   */
  readonly externalData?: readonly ExternalDataFile[];
}

/** One external data file, as ONNX Runtime's `externalData` session option takes it. */
export type ExternalDataFile = string | { readonly path: string; readonly data: Uint8Array | ArrayBuffer | string };

/** The external data files given, by their normalized locations, read where given by path. */
async function readExternalFiles(files: readonly ExternalDataFile[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const f of files) {
    const [location, data] = typeof f === 'string' ? [f, f] : [f.path, f.data];
    let bytes: Uint8Array;
    if (typeof data !== 'string') bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    else {
      try {
        bytes = await readFile(data);
      } catch (e) {
        throw new KilnError(`cannot read external data file '${data}' (for '${location}'): ${(e as Error).message}`);
      }
    }
    out.set(normalize(location), bytes);
  }
  return out;
}

/** The default cache folder: $KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln/compiled, else ~/.cache/kiln/compiled. */
export function defaultCacheDir(): string {
  if (process.env.KILN_CACHE_DIR) return process.env.KILN_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kiln', 'compiled');
}

/** An ONNX model read once, compiled per set of input shapes. */
export class OnnxModel {
  readonly inputs: readonly DeclaredInput[];
  /** Each output as declared: its dtype where it is a tensor of a type kiln computes in. */
  readonly outputs: readonly (Omit<DeclaredInput, 'dtype'> & { readonly dtype?: DType })[];
  readonly name: string;
  private constructor(
    private readonly bytes: Uint8Array,
    private readonly hash: string,
    private readonly readExternalData: ExternalDataReader | undefined,
    private readonly opts: OnnxCompileOptions,
    model: ModelProtoObject,
  ) {
    const g = model.graph;
    if (!g) throw new KilnError('the ONNX model has no graph (is the file truncated?)');
    const weights = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
    this.name = g.name || 'onnx_model';
    this.inputs = (g.input ?? []).filter((v) => !weights.has(v.name ?? '')).map((v) => {
      const name = v.name ?? '';
      const tensor = v.type?.tensor_type;
      const stored = STORED_TYPES[tensor?.elem_type ?? 0];
      return {
        name,
        dtype: kilnDType(tensor?.elem_type ?? 0, `graph input '${name}'`),
        dims: declaredDims(tensor),
        ...(stored ? { storedType: stored } : {}),
      };
    });
    this.outputs = (g.output ?? []).map((v) => {
      const tensor = v.type?.tensor_type;
      let dtype: DType | undefined;
      try {
        dtype = tensor ? kilnDType(tensor.elem_type ?? 0, `graph output '${v.name}'`) : undefined;
      } catch {
        // An output kiln does not compute in: compiling says so.
      }
      return { name: v.name ?? '', dims: declaredDims(tensor), ...(dtype ? { dtype } : {}) };
    });
  }

  /** Reads an .onnx file (external data beside it) or takes the bytes of one. */
  static async open(source: string | Uint8Array, opts: OnnxCompileOptions = {}): Promise<OnnxModel> {
    let bytes: Uint8Array;
    if (typeof source === 'string') {
      try {
        bytes = await readFile(source);
      } catch (e) {
        throw new KilnError(`cannot read ONNX model '${source}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    } else bytes = source;
    const model = decodeModel(bytes);
    // Weights in external data files are part of what a cached program was compiled from.
    let external: ExternalDataReader | undefined;
    let externalDigest = '';
    if (opts.externalData) {
      const files = await readExternalFiles(opts.externalData);
      [external, externalDigest] = [externalDataFromFiles(files), externalFilesDigest(files)];
    } else if (typeof source === 'string') {
      [external, externalDigest] = [externalDataFromDir(dirname(source)), await externalDataDigest(model, dirname(source))];
    }
    const hash = await sha256Hex(bytes);
    return new OnnxModel(bytes, externalDigest ? await sha256Hex(`${hash}:${externalDigest}`) : hash, external, opts, model);
  }

  /** True when every input has fixed extents, so that the model compiles before any run. */
  get isStatic(): boolean {
    return this.inputs.every((i) => i.dims.every((d) => typeof d === 'number' && d >= 0));
  }

  /**
   * The artifact for these input shapes (extents, or sizes over ranges) on this device: from the
   * cache, or compiled (and cached). `values`: inputs compiled in as constants (those deciding
   * shapes or parameters, which importing asks for with an InputValuesNeededError).
   */
  async artifactFor(shapes: InputShapes, gpu: GpuDevice, values: InputValues = {}): Promise<ArtifactFiles> {
    const precision = this.opts.precision ?? 'fp32';
    // The kernels and passes chosen depend on the adapter, its features and its binding limit.
    const target = kernelTarget(gpu.info, gpu.features, gpu.limits);
    const adapter = { ...gpu.info, features: target.adapterFeatures, maxStorageBuffers: target.maxStorageBuffers };
    const constants = Object.keys(values).sort().map((k) => [k, valueKey(values[k]!)]);
    const key = await sha256Hex(JSON.stringify({ kiln: KILN_VERSION, model: this.hash, shapes: sortedShapes(shapes), constants, precision, adapter }));
    const cacheDir = this.opts.cache === undefined ? defaultCacheDir() : this.opts.cache;
    const dir = cacheDir === false ? undefined : join(cacheDir, key.slice(0, 32));
    if (dir) {
      try {
        return await readArtifactDir(dir);
      } catch {
        // Not cached yet (or unreadable): compile it.
      }
    }
    const graph = importModel(decodeModel(this.bytes), { inputShapes: shapes, inputValues: values, ...(this.readExternalData ? { readExternalData: this.readExternalData } : {}) });
    // Ops without a WebGPU kernel (NonZero, NonMaxSuppression, ...) make segments, run with the CPU reference between them.
    const compiled = compileForArtifact(graph, { precision, ...target });
    const source = 'segmented' in compiled
      ? { segmented: { ...compiled.segmented, segments: compiled.segmented.segments.map((s) => (s.device === 'webgpu' ? { ...s, program: annotateKernels(s.program) } : s)) } }
      : { program: annotateKernels(compiled.program) };
    const packed = await packArtifact([{ ...source, precision }], { compiler: { pipeline: 'O2' } });
    if (dir) {
      // The cache is an optimisation: a read-only or full disk must not fail the session.
      await writeArtifactDir(dir, packed).catch(() => undefined);
    }
    return packed;
  }
}

/** ONNX element types kiln stores in a wider dtype, by ORT's names (metadata gives them as ORT does). */
const STORED_TYPES: Readonly<Record<number, StoredTensorType>> = { 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 7: 'int64', 11: 'float64', 13: 'uint64' };

/** A value's declared extents: numbers, its symbols, or -1 where it has neither. */
function declaredDims(tensor: { shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } | undefined): (number | string)[] {
  return (tensor?.shape?.dim ?? []).map((d) => d.dim_value ?? (d.dim_param || -1));
}

/** An input value as the cache key holds it: its shape and elements. */
function valueKey(v: InputValue): unknown {
  if (Array.isArray(v)) return v;
  const t: TensorData = 'kind' in v ? v.data : (v as TensorData);
  return { dtype: t.dtype, shape: t.shape, data: Array.from(t.data as ArrayLike<number>, Number) };
}

function sortedShapes(shapes: InputShapes): [string, InputShapes[string]][] {
  return Object.keys(shapes).sort().map((k) => [k, shapes[k]!]);
}
