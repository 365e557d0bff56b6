import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../ir/errors.js';
import {
  loadArtifact, MANIFEST_FILE, manifestText, packArtifact, WEIGHTS_FILE,
  type ArtifactFiles, type LoadedArtifact, type LoadOptions, type PackedArtifact, type PackOptions, type VariantSource,
} from './artifact.js';
import { artifactSourceReader, readArtifactFiles, type ArtifactSourceReader } from './artifact-read.js';
import { isSafeArtifactPath } from './manifest.js';
import type { Program } from './program.js';

// Artifact folders on disk (Node only). The only runtime file that imports node: modules; the
// runtime entry reaches it through a dynamic import, so a browser bundle never loads it.

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

/**
 * Writes a packed artifact into the folder `dir`, replacing an artifact already there (its
 * kernels, weights, IR and variant folders are cleared so no stale file stays), but never a
 * folder of other files.
 */
export async function writeArtifactDir(dir: string, packed: PackedArtifact): Promise<void> {
  await prepareDir(dir);
  // manifest.json last: a write cut short leaves files its hashes reject, or the old manifest.
  const files: [string, string | Uint8Array][] = [
    ...Object.entries(packed.weights),
    ...Object.entries(packed.kernels),
    ...Object.entries(packed.extras),
    [MANIFEST_FILE, manifestText(packed.manifest)],
  ];
  for (const [path, content] of files) {
    if (!isSafeArtifactPath(path)) throw new KilnError(`internal: artifact file name '${path}' is not a plain relative path`);
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/** Packs `program`, or several as variants (see packArtifact), and writes them as the artifact folder `dir`. */
export async function saveArtifact(dir: string, program: Program | readonly VariantSource[], opts: PackOptions = {}): Promise<PackedArtifact> {
  const packed = await packArtifact(program, opts);
  await writeArtifactDir(dir, packed);
  return packed;
}

async function prepareDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new KilnError(`cannot write an artifact to ${dir}: it is a file`);
    entries = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      await mkdir(dir, { recursive: true });
      return;
    }
    throw e;
  }
  if (entries.length === 0) return;
  if (!entries.includes(MANIFEST_FILE)) {
    throw new KilnError(`cannot write an artifact to ${dir}: the folder holds other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); choose a new or empty folder`);
  }
  // What an earlier artifact may have written besides manifest.json, which is rewritten last.
  for (const sub of ['kernels', 'ir', 'fp32', 'fp16', WEIGHTS_FILE]) await rm(join(dir, sub), { recursive: true, force: true });
}
