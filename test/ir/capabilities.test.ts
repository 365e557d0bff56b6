// The op capability matrix: every IR op's CPU kernel, GPU lowering, gradient rule, ONNX mapping
// and PyTorch-like API entry, side by side. It fails on a gap without a reason (or a reason for
// a gap that has closed), on a fusion kind that breaks its promise, and when docs/ops.md is stale.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { capabilityMatrix, gapProblems, matrixText, onnxProducers, opsMarkdown } from '../../src/capabilities/index.js';
import { allOps } from '../../src/ir/ops/index.js';

const BACKEND_TESTS = process.env['KILN_ONNX_BACKEND_TESTS'] ?? fileURLToPath(new URL('../../../shared/onnx-backend-tests', import.meta.url));
const NODE_DIR = join(BACKEND_TESTS, 'node');
const measured = existsSync(NODE_DIR);
const rows = capabilityMatrix(measured ? onnxProducers(NODE_DIR) : undefined);

describe('op capability matrix', () => {
  it('explains every gap', () => {
    console.log(`op x capability (${measured ? 'ONNX measured on the backend test suite' : 'ONNX unmeasured: no backend test suite'}):\n${matrixText(rows)}`);
    expect(gapProblems(rows)).toEqual([]);
  });

  it('has a row for every op, each with a CPU reference kernel', () => {
    expect(rows.map((r) => r.op)).toEqual(allOps().map((d) => d.name));
    expect(rows.filter((r) => !r.cpu).map((r) => r.op)).toEqual([]);
  });

  it('finds API entries and ONNX producers where they are known to be', () => {
    const row = (op: string) => rows.find((r) => r.op === op)!;
    expect(row('relu').frontend).toContain('Tensor.relu');
    expect(row('conv2d').frontend).toContain('functional.conv2d');
    expect(row('concat').frontend).toContain('cat');
    if (measured) {
      expect(row('matmul').onnx).toContain('MatMul');
      expect(row('fmod').onnx).toEqual(['Mod']);
      expect(row('layer_norm').onnx).toContain('LayerNormalization');
    }
  });

  it.skipIf(!measured)('docs/ops.md is up to date (node scripts/ops-reference.mjs writes it)', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/ops.md'), 'utf8');
    expect(doc).toBe(opsMarkdown(rows));
  });
});
