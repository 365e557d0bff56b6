// Writes docs/ops.md, the op capability matrix, from the built compiler (run `npm run build`
// first). The ONNX column is measured on the ONNX backend test suite (../shared/onnx-backend-tests,
// or $KILN_ONNX_BACKEND_TESTS). `node scripts/ops-reference.mjs --check` fails when the file is
// out of date instead of writing it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs/ops.md');
const NODE_DIR = join(process.env.KILN_ONNX_BACKEND_TESTS ?? join(ROOT, '../shared/onnx-backend-tests'), 'node');

if (!existsSync(NODE_DIR)) {
  console.error(`ops-reference: the ONNX backend tests are not at ${NODE_DIR} (set KILN_ONNX_BACKEND_TESTS)`);
  process.exit(1);
}
const { capabilityMatrix, gapProblems, onnxProducers, opsMarkdown } = await import(join(ROOT, 'dist/src/capabilities/index.js'));
const rows = capabilityMatrix(onnxProducers(NODE_DIR));
const problems = gapProblems(rows);
if (problems.length) console.error(`ops-reference: unexplained gaps:\n  ${problems.join('\n  ')}`);
const text = opsMarkdown(rows);
if (process.argv.includes('--check')) {
  const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (current !== text) {
    console.error('docs/ops.md is out of date: run `npm run build && node scripts/ops-reference.mjs`');
    process.exit(1);
  }
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT} (${rows.length} ops)`);
}
