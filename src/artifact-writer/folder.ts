import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KilnError } from '../ir/errors.js';
import { MANIFEST_FILE, WEIGHTS_FILE } from '../runtime/artifact.js';
import { isSafeArtifactPath } from '../runtime/manifest.js';
import type { Program } from '../runtime/program.js';
import { manifestText, packArtifact, type PackedArtifact, type PackOptions, type VariantSource } from './pack.js';

// Artifact folders written on disk (Node only); runtime/artifact-node.ts reads them.

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

/**
 * Throws when `dir` cannot take an artifact: a file, or a folder holding files other than an
 * earlier artifact's. Returns whether it exists (and holds an artifact to replace). Checked again
 * at writing; a command checks it first, so that a bad -o fails before the work.
 */
export async function checkArtifactDir(dir: string): Promise<'absent' | 'empty' | 'artifact'> {
  let entries: string[];
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new KilnError(`cannot write an artifact to ${dir}: it is a file`);
    entries = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  if (entries.length === 0) return 'empty';
  if (!entries.includes(MANIFEST_FILE)) {
    throw new KilnError(`cannot write an artifact to ${dir}: the folder holds other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); choose a new or empty folder`);
  }
  return 'artifact';
}

async function prepareDir(dir: string): Promise<void> {
  const state = await checkArtifactDir(dir);
  if (state === 'absent') await mkdir(dir, { recursive: true });
  if (state !== 'artifact') return;
  // What an earlier artifact may have written besides manifest.json, which is rewritten last.
  for (const sub of ['kernels', 'ir', 'segments', 'fp32', 'fp16', WEIGHTS_FILE]) await rm(join(dir, sub), { recursive: true, force: true });
}
