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
    const [core, preview] = text.split('; and from the `ai.onnx.preview` domain ');
    const names = (s: string) => s.replace(/\([^)]*\)/g, '').replace(/[.*]/g, '').split(',').map((x) => x.trim()).filter(Boolean);
    const listed = [...names(core!), ...names(preview ?? '').map((n) => `ai.onnx.preview.${n}`)].sort();
    expect(listed).toEqual(supportedOnnxOps().filter((o) => !RANDOM_OPS.includes(o)).sort());
  });
});
