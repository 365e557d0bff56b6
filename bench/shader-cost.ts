// Times the adapter's compile of every shader of a model, one at a time (run with
// MESA_SHADER_CACHE_DISABLE=true on Mesa so each compile is cold), under a kernel choice as
// kernel-ab takes it. Prints each shader's compile time, slowest first.
//   node dist/bench/shader-cost.js MODEL [--input-shape x=1,3,48,192] [CHOICE]
import { parseArgs } from 'node:util';
import { compile } from '../src/compiler.js';
import { loadModel } from '../src/frontend/load-model.js';
import { acquireDevice } from '../src/runtime/device.js';
import { kernelTarget } from '../src/precision.js';
import { forcedChooser } from './forced-choices.js';
import { inputShapeArgs, inputShapesFrom } from '../src/cli/input-shapes.js';
import { loadProgram } from '../src/runtime/load.js';
import type { StaticProgram } from '../src/runtime/program.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { ...inputShapeArgs } });
const [model, choice = 'heuristic'] = positionals;
if (!model) throw new Error('usage: shader-cost MODEL [--input-shape ...] [FAMILY[~TEXT]=VARIANT,...]');
const graph = await loadModel(model, { inputShapes: inputShapesFrom(values) });
const gpu = await acquireDevice();
const program = compile(graph, { ...kernelTarget(gpu.info, gpu.features, gpu.limits), choose: forcedChooser(choice) }) as StaticProgram;
// Mesa's llvmpipe compiles a shader at its first dispatch, not when its pipeline is made: each
// kernel's first dispatch, run alone, is timed.
const loaded = await loadProgram(gpu, program, { label: 'cost', warmup: false }, { pipelinesCreated: 0, shaderModulesCreated: 0, buffersCreated: 0, bindGroupsCreated: 0, weightBytesUploaded: 0, weightUploads: 0 });
const rows: [number, string][] = [];
const seen = new Set<number>();
for (const [i, step] of loaded.steps.entries()) {
  const kernel = program.dispatches[i]!.kernel;
  if (seen.has(kernel)) continue;
  seen.add(kernel);
  const t0 = performance.now();
  const encoder = gpu.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(step.pipeline);
  pass.setBindGroup(0, step.bindGroup);
  pass.dispatchWorkgroups(...step.workgroups);
  pass.end();
  gpu.device.queue.submit([encoder.finish()]);
  await gpu.device.queue.onSubmittedWorkDone();
  rows.push([performance.now() - t0, `${program.kernels[kernel]!.name}  (first: ${program.dispatches[i]!.label})`]);
}
rows.sort((a, b) => b[0] - a[0]);
for (const [ms, name] of rows) console.log(`${ms.toFixed(0).padStart(7)} ms  ${name}`);
console.log(`${rows.reduce((s, [ms]) => s + ms, 0).toFixed(0).padStart(7)} ms  total, ${rows.length} shaders`);
gpu.destroy();
