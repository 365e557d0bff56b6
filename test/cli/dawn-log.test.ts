import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DAWN_LIMIT_WARNING } from '../../src/cli/dawn-log.js';
import { hasGpu } from '../helpers/gpu.js';
import { repoPath } from '../helpers/kiln-cli.js';

// Dawn's two adapter-limit warnings are dropped from the output of kiln's commands and scripts;
// nothing else is.

const exec = promisify(execFile);

describe("Dawn's adapter warnings", () => {
  it('the filter drops exactly those two lines', () => {
    expect(DAWN_LIMIT_WARNING.test('Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.')).toBe(true);
    expect(DAWN_LIMIT_WARNING.test('Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.')).toBe(true);
    expect(DAWN_LIMIT_WARNING.test('Warning: something else artificially reduced')).toBe(false);
    expect(DAWN_LIMIT_WARNING.test('kiln run: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1 to 0 to fit dynamic offset allocation limit.')).toBe(false);
  });

  it('npm run demo (after setup) prints none of them', async (ctx) => {
    if (!(await hasGpu())) ctx.skip('no WebGPU adapter');
    // The demo script as package.json runs it, after `bash scripts/setup.sh &&`.
    const demo = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['demo']!;
    const command = demo.replace(/^bash scripts\/setup\.sh && /, '').split(' ');
    expect(command[0]).toBe('node');
    const { stdout, stderr } = await exec(process.execPath, command.slice(1), { cwd: repoPath(), timeout: 120_000 });
    expect(stdout).toMatch(/max abs difference from the CPU reference: .* \(ok/);
    expect(stderr).not.toMatch(/artificially reduced/);
    expect(stdout).not.toMatch(/artificially reduced/);
  }, 180_000);
});
