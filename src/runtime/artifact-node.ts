import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../ir/errors.js';
import { loadArtifact, MANIFEST_FILE, manifestText, packArtifact, type ArtifactFiles, type LoadedArtifact, type PackedArtifact, type PackOptions } from './artifact.js';
import { readArtifactFiles } from './artifact-read.js';
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

/** Reads the files of the artifact folder `dir` (only those its manifest names). */
export async function readArtifactDir(dir: string): Promise<ArtifactFiles> {
  if (!(await isArtifactDir(dir))) throw new KilnError(`${dir} is not a kiln artifact (a folder with ${MANIFEST_FILE}); make one with kiln compile MODEL -o ${dir}`);
  return readArtifactFiles((path) => readFile(join(dir, path)), dir);
}

/** Reads and validates the artifact folder `dir` (a path or a file: URL; no GPU work). */
export async function loadArtifactDir(dir: string | URL): Promise<LoadedArtifact> {
  return loadArtifact(await readArtifactDir(dir instanceof URL ? fileURLToPath(dir) : dir));
}

/**
 * Writes a packed artifact into the folder `dir`, replacing an artifact already there (its
 * kernels/ and ir/ folders are cleared so no stale file stays), but never a folder of other files.
 */
export async function writeArtifactDir(dir: string, packed: PackedArtifact): Promise<void> {
  await prepareDir(dir);
  const files: [string, string | Uint8Array][] = [
    [MANIFEST_FILE, manifestText(packed.manifest)],
    [packed.manifest.weights.file, packed.weights],
    ...Object.entries(packed.kernels),
    ...Object.entries(packed.extras),
  ];
  for (const [path, content] of files) {
    if (!isSafeArtifactPath(path)) throw new KilnError(`internal: artifact file name '${path}' is not a plain relative path`);
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/** Packs `program` (see packArtifact) and writes it as the artifact folder `dir`. */
export async function saveArtifact(dir: string, program: Program, opts: PackOptions = {}): Promise<PackedArtifact> {
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
  for (const sub of ['kernels', 'ir']) await rm(join(dir, sub), { recursive: true, force: true });
}
