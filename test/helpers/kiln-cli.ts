import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

// The CLI is tested as users run it: the built `kiln` binary (npm test builds first).
const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

/** Path of a file of the built tree (`dist/...`) or the checkout. */
export const repoPath = (...parts: string[]) => join(ROOT, ...parts);

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `kiln ARGS...` and returns its exit code and output, failing or not. */
export async function kiln(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec('node', [repoPath('dist/src/cli/main.js'), ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
