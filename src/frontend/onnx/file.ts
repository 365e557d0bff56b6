import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { Graph } from '../../ir/graph.js';
import { KilnError } from '../../ir/errors.js';
import { importModelWithLayout, type OnnxImport, type OnnxImportOptions } from './import.js';
import { decodeModel } from './proto.js';
import type { ExternalDataReader } from './tensor.js';

/**
 * Reads ONNX external data from files in `dir` (the model's folder). Locations must stay inside
 * it, as ONNX requires: absolute paths and `..` are refused.
 */
export function externalDataFromDir(dir: string): ExternalDataReader {
  return (location, offset, length, tensor) => {
    const rel = normalize(location);
    if (isAbsolute(location) || rel === '..' || rel.startsWith(`..${sep}`) || rel.split(/[\\/]/).includes('..')) {
      throw new KilnError(`${tensor}: external data location '${location}' must be a relative path inside the model's folder`);
    }
    const path = join(dir, rel);
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
