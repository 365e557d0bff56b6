import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../ir/errors.js';
import { loadArtifact, MANIFEST_FILE, type ArtifactFiles, type LoadedArtifact, type LoadOptions } from './artifact.js';
import { artifactSourceReader, readArtifactFiles, type ArtifactSourceReader } from './artifact-read.js';

// Reading artifact folders on disk (Node only; artifact-writer/folder.ts writes them). The only
// runtime file that imports node: modules; the runtime entry reaches it through a dynamic
// import, so a browser bundle never loads it.

/** True when `path` is a folder holding a manifest.json. */
export async function isArtifactDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory() && (await stat(join(path, MANIFEST_FILE))).isFile();
  } catch {
    return false;
  }
}

async function checkArtifactDir(dir: string): Promise<void> {
  if (!(await isArtifactDir(dir))) throw new KilnError(`${dir} is not a kiln artifact (a folder with ${MANIFEST_FILE}); make one with kiln compile MODEL -o ${dir}`);
}

/** Reads the files of the artifact folder `dir` (only those its manifest names). */
export async function readArtifactDir(dir: string): Promise<ArtifactFiles> {
  await checkArtifactDir(dir);
  return readArtifactFiles((path) => readFile(join(dir, path)), dir);
}

/** A reader of the artifact folder `dir` (a path or a file: URL) that reads a variant's files only when asked. */
export async function artifactDirReader(dir: string | URL): Promise<ArtifactSourceReader> {
  const path = dir instanceof URL ? fileURLToPath(dir) : dir;
  await checkArtifactDir(path);
  return artifactSourceReader((f) => readFile(join(path, f)), path);
}

/** Reads and validates the artifact folder `dir` (a path or a file: URL; no GPU work): all variants, or those asked for. */
export async function loadArtifactDir(dir: string | URL, opts: LoadOptions = {}): Promise<LoadedArtifact> {
  const reader = await artifactDirReader(dir);
  const manifest = await reader.manifest();
  const indexes = opts.variants ?? manifest.variants.map((_, i) => i);
  return loadArtifact(await reader.files(manifest, indexes), { variants: indexes });
}
