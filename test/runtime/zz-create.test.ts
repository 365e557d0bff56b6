import { it } from 'vitest';
import { acquireDevice } from '../../src/runtime/device.js';
import { Session } from '../../src/runtime/session.js';
import { PROGRAM_VERSION } from '../../src/runtime/program.js';
const K = Number(process.env.NK ?? 16);
const SALT = process.env.SALT ?? '0';
function kernel(j: number): string {
  return `
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= p.n) { return; }
  var acc: array<f32, 16>;
  for (var k = 0u; k < 16u; k++) { acc[k] = a[(g.x + k) % p.n] * ${j + 1}.0 + ${SALT}.5; }
  for (var r = 0u; r < 64u; r++) {
    for (var k = 0u; k < 16u; k++) { acc[k] = tanh(acc[k]) + exp(-acc[(k + 1u) % 16u] * acc[k]) * ${j}.25 + select(0.0, 1.0, acc[k] > 0.0); }
  }
  var v = 0.0; for (var k = 0u; k < 16u; k++) { v += acc[k]; }
  c[g.x] = v;
}`;
}
it('create', async () => {
  const d = await acquireDevice();
  const n = 1024;
  const p = { version: PROGRAM_VERSION, name: 'many', weights: new Uint8Array(0), requiredFeatures: [],
    inputs: [{ name: 'a', dtype: 'f32' as const, shape: [n], buffer: 0 }],
    outputs: [{ name: 'c', dtype: 'f32' as const, shape: [n], buffer: 1 }],
    buffers: [{ id: 0, bytes: n * 4, role: 'input' as const }, { id: 1, bytes: n * 4, role: 'output' as const }],
    kernels: Array.from({ length: K }, (_, j) => ({ name: `k${j}`, wgsl: kernel(j), entryPoint: 'main' })),
    dispatches: Array.from({ length: K }, (_, j) => ({ kernel: j, label: `d${j}`, buffers: [0, 1], uniforms: [n], workgroups: [n / 64, 1, 1] as [number, number, number] })) };
  let t0 = performance.now();
  const s = await Session.create(d, p);
  const t1 = performance.now() - t0;
  const W = process.env.WARM;
  t0 = performance.now();
  if (W) {
    const steps = (s as any).steps as any[];
    const enc = d.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const st of steps) { pass.setPipeline(st.pipeline); pass.setBindGroup(0, st.bindGroup); pass.dispatchWorkgroups(W === '0' ? 0 : 1, W === '0' ? 0 : 1, W === '0' ? 0 : 1); }
    pass.end(); d.device.queue.submit([enc.finish()]); if (process.env.PRESLEEP) await new Promise((r) => setTimeout(r, Number(process.env.PRESLEEP))); await d.device.queue.onSubmittedWorkDone();
  }
  const tw = performance.now() - t0;
  t0 = performance.now();
  await s.run({ a: { dtype: 'f32', shape: [n], data: new Float32Array(n) } });
  const tr = performance.now() - t0;
  t0 = performance.now();
  await s.run({ a: { dtype: 'f32', shape: [n], data: new Float32Array(n) } });
  const tr2 = performance.now() - t0;
  t0 = performance.now();
  const s2 = await Session.create(d, p);
  const t2 = performance.now() - t0;
  console.log(`K=${K} warm=${W} ${tw.toFixed(0)}ms create first=${t1.toFixed(0)}ms same-process-again=${t2.toFixed(0)}ms firstRun=${tr.toFixed(0)}ms secondRun=${tr2.toFixed(0)}ms`);
  s.destroy(); s2.destroy(); d.destroy();
});
