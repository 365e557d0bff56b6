import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { Graph } from '../../ir/graph.js';
import { KilnError } from '../../ir/errors.js';
import { importModelWithLayout, type OnnxImport, type OnnxImportOptions } from './import.js';
import { decodeModel, type ModelProtoObject, type TensorProtoObject } from './proto.js';
import { allNodes, nodeSubgraphs } from './subgraphs.js';
import type { ExternalDataReader } from './tensor.js';

/**
 * Reads ONNX external data from files in `dir` (the model's folder). Locations must stay inside
 * it, as ONNX requires: absolute paths and `..` are refused.
 */
export function externalDataFromDir(dir: string): ExternalDataReader {
  return (location, offset, length, tensor) => {
    const path = externalPath(dir, location, tensor);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new KilnError(`${tensor} is stored in '${path}', which cannot be read: ${(e as Error).message}`);
    }
    try {
      const size = fstatSync(fd).size;
      const n = length ?? size - offset;
      if (offset + n > size) {
        throw new KilnError(`${tensor}: '${path}' has ${size} bytes, but the tensor's data lies at bytes ${offset}..${offset + n} (is the file truncated?)`);
      }
      const out = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const got = readSync(fd, out, done, n - done, offset + done);
        if (got === 0) break;
        done += got;
      }
      return out.subarray(0, done);
    } finally {
      closeSync(fd);
    }
  };
}

/** `bytes[offset, offset + length)` of an external file, checked against its size. */
function externalSlice(bytes: Uint8Array, offset: number, length: number | undefined, file: string, tensor: string): Uint8Array {
  const n = length ?? bytes.byteLength - offset;
  if (offset + n > bytes.byteLength) {
    throw new KilnError(`${tensor}: '${file}' has ${bytes.byteLength} bytes, but the tensor's data lies at bytes ${offset}..${offset + n} (is the file truncated?)`);
  }
  return bytes.subarray(offset, offset + n);
}

/**
 * Reads ONNX external data from files given by their locations (ONNX Runtime's `externalData`
 * session option: a model loaded from bytes has no folder to read them from).
 */
export function externalDataFromFiles(files: ReadonlyMap<string, Uint8Array>): ExternalDataReader {
  return (location, offset, length, tensor) => {
    const bytes = files.get(normalize(location));
    if (!bytes) throw new KilnError(`${tensor} is stored in the external file '${location}', which externalData does not give (it gives ${[...files.keys()].map((k) => `'${k}'`).join(', ') || 'none'})`);
    return externalSlice(bytes, offset, length, location, tensor);
  };
}

/** A digest of external files given by location (see externalDataDigest). */
export function externalFilesDigest(files: ReadonlyMap<string, Uint8Array>): string {
  const hash = createHash('sha256');
  for (const location of [...files.keys()].sort()) hash.update(`${location}\0`).update(files.get(location)!);
  return hash.digest('hex');
}

/** The file of an external data location in `dir`, refused outside it (absolute, or with `..`). */
function externalPath(dir: string, location: string, tensor: string): string {
  const rel = normalize(location);
  if (isAbsolute(location) || rel === '..' || rel.startsWith(`..${sep}`) || rel.split(/[\\/]/).includes('..')) {
    throw new KilnError(`${tensor}: external data location '${location}' must be a relative path inside the model's folder`);
  }
  return join(dir, rel);
}

/** Every tensor a model holds: initializers, its subgraphs' initializers, Constant attributes. */
function modelTensors(model: ModelProtoObject): TensorProtoObject[] {
  const g = model.graph;
  const nodes = allNodes(g?.node ?? []);
  return [
    ...(g?.initializer ?? []),
    ...nodes.flatMap((n) => nodeSubgraphs(n).flatMap((sub) => sub.initializer ?? [])),
    ...nodes.flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.t ? [a.t] : []))),
  ];
}

/**
 * A digest of the contents of the external data files a model's tensors name, in `dir` ('' when
 * there are none): its weights live there, not in the .onnx bytes, so whatever is keyed on the
 * model (the compile cache) must key on this too, or new weights would run as the old ones.
 */
export async function externalDataDigest(model: ModelProtoObject, dir: string): Promise<string> {
  const locations = new Set<string>();
  for (const t of modelTensors(model)) {
    const location = t.data_location === 1 ? t.external_data?.find((e) => e.key === 'location')?.value : undefined;
    if (location) locations.add(location);
  }
  if (locations.size === 0) return '';
  const hash = createHash('sha256');
  for (const location of [...locations].sort()) {
    hash.update(`${location}\0`);
    const path = externalPath(dir, location, `external data '${location}'`);
    // A file that cannot be read is the import's to report, naming the tensor.
    try {
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    } catch {
      hash.update('unreadable');
    }
  }
  return hash.digest('hex');
}

/** Imports an .onnx file, reading any external data files that sit beside it. */
export async function importOnnxFile(path: string, opts: OnnxImportOptions = {}): Promise<Graph> {
  return (await importOnnxFileWithLayout(path, opts)).graph;
}

/** importOnnxFile, with the layout of the model's inputs and outputs (sequences and optionals). */
export async function importOnnxFileWithLayout(path: string, opts: OnnxImportOptions = {}): Promise<OnnxImport> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new KilnError(`cannot read ONNX model '${path}': ${(e as Error).message}`);
  }
  return importModelWithLayout(decodeModel(bytes), { ...opts, readExternalData: opts.readExternalData ?? externalDataFromDir(dirname(path)) });
}
