import { KilnError } from '../ir/errors.js';
import { requiredFeatures, requiredLimits } from './artifact-device.js';
import type { ArtifactFiles } from './artifact.js';
import { ArtifactError, type ArtifactManifest, type ManifestProgram, type ManifestRequires, type ManifestWeights } from './manifest.js';
import { PROGRAM_VERSION, validateProgram, type KernelSpec, type Program } from './program.js';
import { checkDispatch, reflectAll } from './reflect.js';
import { sha256Hex } from './sha256.js';
import { resolveForLoad } from './sizes.js';

// Reading one program of an artifact (a variant's, or a WebGPU segment's) from its files, and
// checking it without a device; artifact.ts loads whole variants with it.

// Device-independent validation checks bindings, not sizes against a device: lift the size limits.
const NO_DEVICE_LIMITS: Readonly<Record<string, number>> = {
  maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER,
  maxUniformBufferBindingSize: Number.MAX_SAFE_INTEGER,
  maxComputeWorkgroupsPerDimension: Number.MAX_SAFE_INTEGER,
};

/** The bytes of the weights file `name` among the given files. */
function weightsBytes(files: ArtifactFiles, manifest: ArtifactManifest, name: string): Uint8Array | undefined {
  const w = files.weights;
  if (w instanceof Uint8Array || w instanceof ArrayBuffer) {
    if (name !== manifest.variants[0]!.weights?.file) return undefined;
    return w instanceof ArrayBuffer ? new Uint8Array(w) : w;
  }
  if (typeof w !== 'object' || w === null) return undefined;
  const b = Object.hasOwn(w, name) ? w[name] : undefined;
  return b instanceof ArrayBuffer ? new Uint8Array(b) : b;
}

/** The bytes of the file `spec` names, checked against its size and hash. */
export async function checkedFile(files: ArtifactFiles, manifest: ArtifactManifest, spec: ManifestWeights, fail: (msg: string) => never): Promise<Uint8Array> {
  const wfile = spec.file;
  const weights = weightsBytes(files, manifest, wfile);
  if (weights === undefined) fail(`its weights file ${wfile} is missing`);
  if (!(weights instanceof Uint8Array)) fail(`${wfile} must be given as bytes (Uint8Array or ArrayBuffer)`);
  if (weights!.byteLength !== spec.bytes) {
    fail(`${wfile} has ${weights!.byteLength} bytes but the manifest says ${spec.bytes}: the file is ${weights!.byteLength < spec.bytes ? 'truncated' : 'too long'}`);
  }
  const weightsHash = await sha256Hex(weights!);
  if (weightsHash !== spec.sha256) fail(`${wfile} is corrupted: its SHA-256 is ${weightsHash} but the manifest says ${spec.sha256}`);
  return weights!;
}

/**
 * A program of the manifest with its weights file and kernel files, validated: sizes and hashes,
 * every buffer id, offset and size, and every dispatch's bindings against its kernel's WGSL.
 */
export async function loadProgramFiles(
  p: ManifestProgram, weightsSpec: ManifestWeights, manifest: ArtifactManifest, files: ArtifactFiles, fail: (msg: string) => never,
): Promise<{ program: Program; needs: ManifestRequires }> {
  if (p.version !== PROGRAM_VERSION) {
    fail(`its program format version is ${p.version}; this runtime runs version ${PROGRAM_VERSION} (recompile the model with this version of kiln)`);
  }
  const weights = await checkedFile(files, manifest, weightsSpec, fail);

  const kernels: KernelSpec[] = [];
  for (const [i, k] of p.kernels.entries()) {
    const content = Object.hasOwn(files.kernels, k.file) ? files.kernels[k.file] : undefined;
    if (content === undefined) fail(`kernel #${i} '${k.name}': its file ${k.file} is missing`);
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content!;
    const hash = await sha256Hex(bytes);
    if (hash !== k.sha256) fail(`kernel #${i} '${k.name}': ${k.file} was modified or corrupted: its SHA-256 is ${hash} but the manifest says ${k.sha256}`);
    const { file: _file, sha256: _sha, ...kernel } = k;
    kernels.push({ ...kernel, wgsl: typeof content === 'string' ? content : new TextDecoder().decode(bytes) });
  }

  const program: Program = { ...p, kernels, weights };
  const reflections = rethrowAs(fail, () => {
    validateProgram(program);
    return reflectAll(kernels);
  });
  const align = weightsSpec.alignment;
  if (align < 4 || (align & (align - 1)) !== 0) fail(`weights.alignment ${align} is not a power of two of at least 4`);
  for (const b of program.buffers) {
    if ((b.role === 'weight' || b.role === 'state') && b.weightOffset! % align !== 0) {
      fail(`buffer ${b.id}${b.label ? ` '${b.label}'` : ''}: weight offset ${b.weightOffset} is not a multiple of the stated alignment ${align}`);
    }
  }
  const buffers = new Map(program.buffers.map((b) => [b.id, b]));
  // Checked at the sizes buffers are made for, every kernel variant too.
  const largest = rethrowAs(fail, () => resolveForLoad(program).program);
  rethrowAs(fail, () => {
    largest.dispatches.forEach((d, i) => {
      const k = program.kernels[d.kernel]!;
      checkDispatch(d, i, k, reflections[d.kernel]!, { buffer: (id) => buffers.get(id), limits: NO_DEVICE_LIMITS });
    });
  });
  // What it needs of a device, computed at those sizes too.
  return { program, needs: { features: requiredFeatures(largest), limits: requiredLimits(largest, reflections) } };
}

/** Runs `f`, turning a KilnError it throws into `fail`'s ArtifactError (which names the variant). */
export function rethrowAs<T>(fail: (msg: string) => never, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KilnError && !(e instanceof ArtifactError)) fail(e.message);
    throw e;
  }
}
