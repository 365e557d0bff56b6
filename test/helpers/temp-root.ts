import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// vitest's global setup: every temporary file of a run (the tests' own, and those of the CLI
// processes and workers they start, which inherit the environment) goes under one directory,
// removed when the run ends, so a run leaves nothing in the system's temporary directory even
// where a test does not clean up after itself or fails half way.
export default async function setup(): Promise<() => Promise<void>> {
  const before = process.env.TMPDIR;
  const root = await mkdtemp(join(tmpdir(), 'kiln-test-'));
  process.env.TMPDIR = root;
  return async () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    await rm(root, { recursive: true, force: true });
  };
}
