import { it } from 'vitest';
import { acquireDevice } from '../../src/runtime/device.js';
import { Session } from '../../src/runtime/session.js';
import { PROGRAM_VERSION } from '../../src/runtime/program.js';
import { tensorData } from '../../src/ir/tensor-data.js';
const N = Number(process.env.MM_N ?? 256);
const wgsl = `
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(8, 8) fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = p.n; if (g.x >= n || g.y >= n) { return; }
  var acc = 0.0;
  for (var k = 0u; k < n; k++) { acc += a[g.y * n + k] * b[k * n + g.x]; }
  c[g.y * n + g.x] = acc;
}`;
it('wait', async () => {
  const d = await acquireDevice();
  const bytes = N * N * 4;
  const p = { version: PROGRAM_VERSION, name: 'mm', weights: new Uint8Array(0), requiredFeatures: [],
    inputs: [{ name: 'a', dtype: 'f32' as const, shape: [N, N], buffer: 0 }, { name: 'b', dtype: 'f32' as const, shape: [N, N], buffer: 1 }],
    outputs: [{ name: 'c', dtype: 'f32' as const, shape: [N, N], buffer: 2 }],
    buffers: [{ id: 0, bytes, role: 'input' as const }, { id: 1, bytes, role: 'input' as const }, { id: 2, bytes, role: 'output' as const }],
    kernels: [{ name: 'mm', wgsl, entryPoint: 'main' }],
    dispatches: [{ kernel: 0, label: 'mm', buffers: [0, 1, 2], uniforms: [N], workgroups: [N / 8, N / 8, 1] as [number, number, number] }] };
  const s = await Session.create(d, p, { wait: (process.env.KILN_WAIT ?? 'sleep') as any });
  const a = tensorData('f32', [N, N], new Float32Array(N * N).fill(1));
  for (let i = 0; i < 3; i++) await s.run({ a, b: a });
  const reps = Number(process.env.REPS ?? 30);
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < reps; i++) await s.run({ a, b: a });
  const dt = (performance.now() - t0) / reps; const cpu = process.cpuUsage(c0);
  console.log(`N=${N} mode=${process.env.KILN_WAIT ?? 'default'} ms/run=${dt.toFixed(2)} cpu(user+sys)/run=${((cpu.user + cpu.system) / 1000 / reps).toFixed(2)}ms`);
  s.destroy(); d.destroy();
});
