// Times matmul kernel variants against each other on the adapter, alternating them within one
// process (A, B, A, B, ...) so that the machine's drift hits every variant alike. Reports each
// variant's minimum and median time per run, GFLOP/s, and CPU time per run.
//   node dist/bench/matmul-variants.js [--sizes 1024,512 | --shape MxKxN] [--variants vec4b,block16x8] [--rounds 7] [--check]
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { Graph } from '../src/ir/graph.js';
import { compile } from '../src/compiler.js';
import { acquireDevice } from '../src/runtime/device.js';
import { Session } from '../src/runtime/session.js';
import { runOnCpu } from '../src/runtime/cpu/executor.js';
import { randomInputs } from '../src/io/random-inputs.js';
import { MATMUL_VARIANTS } from '../src/codegen/lower/matmul.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1024,512' }, variants: { type: 'string' }, rounds: { type: 'string', default: '7' }, check: { type: 'boolean', default: false }, shape: { type: 'string' } } });
const variants = values.variants ? values.variants.split(',') : [...MATMUL_VARIANTS];
// Each problem: M x K times K x N.
const problems = values.shape
  ? [values.shape.split('x').map(Number) as [number, number, number]]
  : values.sizes!.split(',').map(Number).map((n) => [n, n, n] as [number, number, number]);

function matmulGraph([m, k, n]: [number, number, number]): Graph {
  const g = new Graph('matmul');
  const a = g.addInput('a', { dtype: 'f32', shape: [m, k], device: 'webgpu' });
  const b = g.addInput('b', { dtype: 'f32', shape: [k, n], device: 'webgpu' });
  g.setOutputs([g.addNode('matmul', [a, b]).output]);
  return g;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
const gpu = await acquireDevice();
console.log(gpu.describe(), `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const p of problems) {
  const g = matmulGraph(p);
  const inputs = randomInputs(g, 1);
  const programs = variants.map((v) => compile(g, { choose: (family) => (family === 'matmul' ? v : undefined) }));
  const sessions = await Promise.all(programs.map((program) => Session.create(gpu, program)));
  const times: number[][] = variants.map(() => []);
  const cpu: number[][] = variants.map(() => []);
  const results = await Promise.all(sessions.map((s) => s.run(inputs)));
  if (values.check) {
    // Each variant against the CPU reference: the largest difference relative to the largest value.
    const want = Object.values(runOnCpu(g, inputs))[0]!.data as Float32Array;
    const scale = want.reduce((x, y) => Math.max(x, Math.abs(y)), 0);
    results.forEach((r, i) => {
      const got = Object.values(r)[0]!.data as Float32Array;
      const err = got.reduce((x, y, j) => Math.max(x, Math.abs(y - want[j]!)), 0) / scale;
      console.log(`  ${variants[i]}: max error ${err.toExponential(2)} of the largest value`);
    });
  }
  for (let r = 0; r < Number(values.rounds); r++) {
    for (let i = 0; i < variants.length; i++) {
      // Wall time of a run (uploads and readback included, alike for every variant), and CPU
      // time of the whole process (lavapipe's threads included): on a software adapter the
      // latter drifts less when other jobs take the cores.
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await sessions[i]!.run(inputs);
      times[i]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[i]!.push((c.user + c.system) / 1e3);
    }
  }
  for (const s of sessions) s.destroy();
  const flops = 2 * p[0] * p[1] * p[2];
  console.log(`matmul ${p.join('x')} (load ${loadavg()[0]!.toFixed(2)})`);
  for (let i = 0; i < variants.length; i++) {
    const t = times[i]!;
    console.log(`  ${variants[i]!.padEnd(12)} min ${Math.min(...t).toFixed(2)} ms  median ${median(t).toFixed(2)} ms  ${(flops / Math.min(...t) / 1e6).toFixed(1)} GFLOP/s (best)  cpu min ${Math.min(...cpu[i]!).toFixed(0)} median ${median(cpu[i]!).toFixed(0)} ms`);
  }
}
gpu.destroy();
process.exit(0);
