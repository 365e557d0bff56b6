// A/B of kernel variants on one model, in one process: the model is compiled once per variant
// choice, and the programs are profiled in alternation (A, B, A, B, ...) so machine drift hits
// both alike. Prints each dispatch's minimum device time under every choice and the totals' minima
// and medians, with the load average.
//
//   node dist/bench/kernel-ab.js MODEL [--input-shape x=1,3,48,192] [--trials N] FAMILY[~TEXT]=VARIANT[,...] ...
//
// Each dispatch is timed over REPEAT back-to-back runs of it inside one timestamped pass, since
// the adapter's timestamps tick coarsely (65 us on lavapipe). Each positional after MODEL is one choice: the variant to force per kernel family where it is
// offered (others keep the heuristic's). `heuristic` is the software adapter's default choice.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { compile } from '../src/compiler.js';
import { loadModel } from '../src/frontend/load-model.js';
import { acquireDevice } from '../src/runtime/device.js';
import { kernelTarget } from '../src/precision.js';
import { forcedChooser } from './forced-choices.js';
import { loadProgram, type LoadedProgram } from '../src/runtime/load.js';
import { TimedPasses } from '../src/runtime/timed-passes.js';
import type { StaticProgram } from '../src/runtime/program.js';
import { inputShapeArgs, inputShapesFrom } from '../src/cli/input-shapes.js';
import { randomTensors } from '../src/io/random-inputs.js';
import { Session } from '../src/runtime/session.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { trials: { type: 'string' }, ...inputShapeArgs } });
const [model, ...choices] = positionals;
if (!model || choices.length === 0) throw new Error('usage: kernel-ab MODEL [--input-shape ...] [--trials N] CHOICE...');
const trials = Number(values.trials ?? 10);

const graph = await loadModel(model, { inputShapes: inputShapesFrom(values) });
const device = await acquireDevice();
const programs = choices.map((c) => compile(graph, { ...kernelTarget(device.info, device.features, device.limits), choose: forcedChooser(c) }) as StaticProgram);
const REPEAT = Number(process.env.AB_REPEAT ?? 16);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const stats = { pipelinesCreated: 0, shaderModulesCreated: 0, buffersCreated: 0, bindGroupsCreated: 0, weightBytesUploaded: 0, weightUploads: 0 };
  // Loaded one after another, so each load's time (shader compiles, with Mesa's cache off when
  // MESA_SHADER_CACHE_DISABLE=true) is its own.
  const loaded: LoadedProgram[] = [];
  for (const [k, p] of programs.entries()) {
    const t0 = performance.now();
    loaded.push(await loadProgram(device, p, { label: `ab${k}`, warmup: true }, stats));
    console.log(`load ${choices[k]}: ${(performance.now() - t0).toFixed(0)} ms, ${p.kernels.length} shaders`);
  }
  const timers = loaded.map((l) => TimedPasses.create(device.device, l.steps.length));
  // Inputs stay as the buffers were created (zeros): device time does not depend on the values.
  const per = programs.map((p) => p.dispatches.map(() => [] as number[]));
  const totals = programs.map(() => [] as number[]);
  const load0 = loadavg()[0]!;
  for (let t = 0; t < trials; t++) {
    for (const [k, l] of loaded.entries()) {
      const ms = await timers[k]!.timeSteps(l.steps, REPEAT);
      ms.forEach((v, i) => per[k]![i]!.push(v));
      totals[k]!.push(ms.reduce((a, b) => a + b, 0));
    }
  }
  console.log(`load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}, ${trials} alternating trials, device ms (min/median)`);
  console.log(`${'dispatch'.padEnd(48)} ${choices.map((c) => c.slice(0, 14).padStart(14)).join(' ')}`);
  programs[0]!.dispatches.forEach((d, i) => {
    console.log(`${d.label.slice(0, 48).padEnd(48)} ${per.map((p) => `${Math.min(...p[i]!).toFixed(3)}/${median(p[i]!).toFixed(3)}`.padStart(14)).join(' ')}`);
  });
  console.log(`${'sum of minima'.padEnd(48)} ${per.map((p) => p.reduce((s, xs) => s + Math.min(...xs), 0).toFixed(3).padStart(14)).join(' ')}`);
  console.log(`${'sum: median'.padEnd(48)} ${totals.map((xs) => median(xs).toFixed(3).padStart(14)).join(' ')}`);
  // Warm runs as a user sees them (upload, one submit, readback), alternating between the choices.
  const sessions = await Promise.all(programs.map((p) => Session.create(device, p)));
  const feeds = randomTensors(programs[0]!.inputs, 0);
  const wall = programs.map(() => [] as number[]);
  for (const s of sessions) await s.run(feeds);
  for (let t = 0; t < trials * 4; t++) {
    for (const [k, s] of sessions.entries()) {
      const t0 = performance.now();
      await s.run(feeds);
      wall[k]!.push(performance.now() - t0);
    }
  }
  for (const s of sessions) s.destroy();
  console.log(`${'warm run ms: median'.padEnd(48)} ${wall.map((xs) => median(xs).toFixed(3).padStart(14)).join(' ')}`);
  console.log(`${'warm run ms: min'.padEnd(48)} ${wall.map((xs) => Math.min(...xs).toFixed(3).padStart(14)).join(' ')}`);
  console.log(`load average at the end ${loadavg()[0]!.toFixed(2)}`);
} finally {
  device.destroy();
}
