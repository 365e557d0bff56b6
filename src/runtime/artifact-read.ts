import { KilnError } from '../ir/errors.js';
import { MANIFEST_FILE, type ArtifactFiles } from './artifact.js';
import { ArtifactError, parseManifest } from './manifest.js';

// Reading an artifact's files through any source of bytes: a folder (artifact-node.ts) or HTTP
// (fetch, in a browser or in Node). Only files the manifest names are read.

/** Reads one file of an artifact by its path relative to the artifact's root. */
export type ArtifactReader = (path: string) => Promise<Uint8Array>;

/** Reads manifest.json, then every kernel file and the weights file it names. */
export async function readArtifactFiles(read: ArtifactReader, where: string): Promise<ArtifactFiles> {
  const manifestBytes = await readOne(read, MANIFEST_FILE, where);
  let manifest;
  try {
    manifest = parseManifest(manifestBytes);
  } catch (e) {
    if (e instanceof ArtifactError) throw new ArtifactError(`artifact ${where}: ${e.message}`, { cause: e });
    throw e;
  }
  const names = [...new Set(manifest.program.kernels.map((k) => k.file))];
  const [weights, ...kernelBytes] = await Promise.all([
    readOne(read, manifest.weights.file, where),
    ...names.map((f) => readOne(read, f, where)),
  ]);
  return { manifest, weights: weights!, kernels: Object.fromEntries(names.map((f, i) => [f, kernelBytes[i]!])) };
}

/**
 * Fetches an artifact's files from `baseUrl` (the folder's URL; a trailing '/' is added), e.g.
 * `fetchArtifactFiles('/models/mlp.kiln/')` in a page served next to the artifact.
 */
export function fetchArtifactFiles(baseUrl: string | URL): Promise<ArtifactFiles> {
  const base = new URL(String(baseUrl).replace(/\/*$/, '/'), (globalThis as { location?: { href: string } }).location?.href);
  return readArtifactFiles(async (path) => {
    const url = new URL(path, base);
    const res = await fetch(url);
    if (!res.ok) throw new ArtifactError(`cannot fetch ${url.href}: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  }, base.href);
}

async function readOne(read: ArtifactReader, path: string, where: string): Promise<Uint8Array> {
  try {
    return await read(path);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    throw new ArtifactError(`artifact ${where}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}
