import { KilnError } from '../ir/errors.js';
import { MANIFEST_FILE, variantFiles, type ArtifactFiles } from './artifact.js';
import { ArtifactError, parseManifest, type ArtifactManifest } from './manifest.js';

// Reading an artifact's files through any source of bytes: a folder (artifact-node.ts) or HTTP
// (fetch, in a browser or in Node). Only files the manifest names are read, and of a variant
// only when it is asked for: a page that runs the f32 fallback never downloads the f16 weights.

/** Reads one file of an artifact by its path relative to the artifact's root. */
export type ArtifactReader = (path: string) => Promise<Uint8Array>;

/** An artifact's files as they are needed: the manifest first, then the files of chosen variants. */
export interface ArtifactSourceReader {
  /** Where the artifact is (a folder or a URL), for messages. */
  readonly where: string;
  /** Reads and parses manifest.json (structure and version checked; no file checked yet). */
  manifest(): Promise<ArtifactManifest>;
  /** Reads the kernel and weights files of the variants at `indexes` of `manifest`. */
  files(manifest: ArtifactManifest, indexes: readonly number[]): Promise<ArtifactFiles>;
}

/** An ArtifactSourceReader over `read`; `where` names the artifact in errors. */
export function artifactSourceReader(read: ArtifactReader, where: string): ArtifactSourceReader {
  return {
    where,
    async manifest() {
      const bytes = await readOne(read, MANIFEST_FILE, where);
      try {
        return parseManifest(bytes);
      } catch (e) {
        if (e instanceof ArtifactError) throw new ArtifactError(`artifact ${where}: ${e.message}`, { cause: e });
        throw e;
      }
    },
    async files(manifest, indexes) {
      const wanted = indexes.map((i) => variantFiles(manifest.variants[i]!));
      const kernelNames = [...new Set(wanted.flatMap((w) => w.kernels))];
      const weightNames = [...new Set(wanted.flatMap((w) => w.weights))];
      const contents = await Promise.all([...weightNames, ...kernelNames].map((f) => readOne(read, f, where)));
      return {
        manifest,
        weights: Object.fromEntries(weightNames.map((f, i) => [f, contents[i]!])),
        kernels: Object.fromEntries(kernelNames.map((f, i) => [f, contents[weightNames.length + i]!])),
      };
    },
  };
}

/** Reads manifest.json, then every file of every variant it names. */
export async function readArtifactFiles(read: ArtifactReader, where: string): Promise<ArtifactFiles> {
  const reader = artifactSourceReader(read, where);
  const manifest = await reader.manifest();
  return reader.files(manifest, manifest.variants.map((_, i) => i));
}

/** Reads the files at `baseUrl` (the artifact folder's URL, relative to the page in a browser) with fetch. */
export function httpArtifactReader(baseUrl: string | URL): ArtifactSourceReader {
  const base = new URL(String(baseUrl).replace(/\/*$/, '/'), (globalThis as { location?: { href: string } }).location?.href);
  return artifactSourceReader(async (path) => {
    const url = new URL(path, base);
    const res = await fetch(url);
    if (!res.ok) throw new ArtifactError(`cannot fetch ${url.href}: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  }, base.href);
}

/**
 * Fetches all of an artifact's files from `baseUrl` (the folder's URL; a trailing '/' is added),
 * e.g. `fetchArtifactFiles('/models/mlp.kiln/')` in a page served next to the artifact.
 */
export async function fetchArtifactFiles(baseUrl: string | URL): Promise<ArtifactFiles> {
  const reader = httpArtifactReader(baseUrl);
  const manifest = await reader.manifest();
  return reader.files(manifest, manifest.variants.map((_, i) => i));
}

async function readOne(read: ArtifactReader, path: string, where: string): Promise<Uint8Array> {
  try {
    return await read(path);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    throw new ArtifactError(`artifact ${where}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}
