import { compile } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { acquireDevice } from '../../src/runtime/device.js';
import { Session } from '../../src/runtime/session.js';
const [m, k, n] = process.argv.slice(2).map(Number);
const g = parseGraph(`graph g(%a: f32[${m},${k}] @webgpu, %b: f32[${k},${n}] @webgpu) -> (f32[${m},${n}] @webgpu) {\n  %y = matmul(%a, %b) : f32[${m},${n}] @webgpu\n  return %y\n}\n`);
for (const v of ['vec4b', 'block16x8']) {
  const p = compile(g, { adapterClass: 'software', choose: (f) => (f === 'matmul' ? v : undefined) });
  const gpu = await acquireDevice();
  const t0 = performance.now();
  const s = await Session.create(gpu, p);
  const t1 = performance.now();
  const x = { a: { dtype: 'f32' as const, shape: [m!, k!], data: new Float32Array(m! * k!) }, b: { dtype: 'f32' as const, shape: [k!, n!], data: new Float32Array(k! * n!) } };
  await s.run(x);
  const t2 = performance.now();
  await s.run(x);
  console.log(v, 'create', (t1 - t0).toFixed(0), 'first', (t2 - t1).toFixed(0), 'warm', (performance.now() - t2).toFixed(1));
  s.destroy();
}
process.exit(0);
