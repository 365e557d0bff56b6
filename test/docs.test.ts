import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

// docs/api.md is generated from the runtime's doc comments: it must match them.
it('docs/api.md is up to date with the doc comments of kiln/runtime', async () => {
  const script = join(import.meta.dirname, '../scripts/api-reference.mjs');
  const r = await promisify(execFile)('node', [script, '--check']).then(() => 0, (e: { code: number; stderr: string }) => e.stderr);
  expect(r).toBe(0);
}, 60_000);
