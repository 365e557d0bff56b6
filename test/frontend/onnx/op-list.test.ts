// The ONNX README's list of mapped ops is the registry's: a mapping added or removed without the
// list (or the other way round) fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { supportedOnnxOps } from '../../../src/frontend/onnx/index.js';
import { RANDOM_OPS } from '../../../src/frontend/onnx/ops/random.js';

const README = readFileSync(new URL('../../../src/frontend/onnx/README.md', import.meta.url), 'utf8');

describe('the ONNX README', () => {
  it('lists exactly the ops kiln imports (random generators are refused, so not listed)', () => {
    const text = README.slice(README.indexOf('Mapped:') + 'Mapped:'.length, README.indexOf('(* on values known at import only')).replace(/\s+/g, ' ');
    // The default domain's ops, then `; from the \`DOMAIN\` domain OPS` for each other domain.
    const [core, ...others] = text.split(/; from the `([\w.]+)` domain /);
    const names = (s: string) => s.replace(/\([^)]*\)/g, '').replace(/A model may import.*$/, '').replace(/the optimizer steps /, '').replace(/[.*]/g, '')
      .split(',').map((x) => x.trim()).filter(Boolean);
    const domains = others.flatMap((x, i) => (i % 2 === 0 ? [{ domain: x, ops: others[i + 1]! }] : []));
    const listed = [...names(core!), ...domains.flatMap(({ domain, ops }) => names(ops).map((n) => `${domain}.${n}`))].sort();
    expect(listed).toEqual(supportedOnnxOps().filter((o) => !RANDOM_OPS.includes(o)).sort());
  });
});
