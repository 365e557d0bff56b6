import { KilnError } from '../ir/errors.js';
import { UsageError } from './errors.js';
import { compileWithReport } from '../compiler.js';
import type { Graph } from '../ir/graph.js';
import { artifactGraph } from './artifact-ir.js';
import { dispatchCosts } from './kernel-cost.js';
import { chooseVariant } from '../runtime/artifact-device.js';
import { isArtifactDir, loadArtifactDir } from '../runtime/artifact-node.js';
import { acquireDevice } from '../runtime/device.js';
import type { Program } from '../runtime/program.js';
import { describeSizes, isDynamicProgram, resolveProgram, type SizeValues } from '../runtime/sizes.js';
import { instantiateGraph } from '../ir/instantiate.js';
import { formatProfile, profileProgram } from '../runtime/profiler.js';
import { measureDispatchFloor } from '../runtime/dispatch-floor.js';
import { checkOnnxOnlyOptions, inputShapeArgs, inputShapesFrom, inputShapeUsage, itemShapesFrom } from './input-shapes.js';
import { loadModel } from '../frontend/load-model.js';
import { inputValueArgs, inputValuesFrom, inputValueUsage } from './input-values.js';
import { compileOptionsFrom, pipelineArgs, pipelineUsage } from './pipeline-options.js';
import { defaultKernelTarget } from './adapter-target.js';
import { randomTensors } from '../io/random-inputs.js';

/** `--sizes T=1,B=2`: the sizes to run a program compiled for a range of shapes at. */
function sizesFrom(text: unknown, p: Program): SizeValues | undefined {
  if (text === undefined) return undefined;
  if (!isDynamicProgram(p)) throw new UsageError(`--sizes: program '${p.name}' has one static shape`);
  const env = new Map<string, number>();
  for (const part of String(text).split(',')) {
    const m = /^\s*(\w+)\s*=\s*(\d+)\s*$/.exec(part);
    const v = m && p.sizes!.find((s) => s.name === m[1]);
    if (!m || !v) throw new UsageError(`--sizes takes NAME=N,... over the program's sizes (${describeSizes(p.sizes!)}), got '${part}'`);
    const n = Number(m[2]);
    if (n < v.min || n > v.max) throw new UsageError(`--sizes: ${v.name} = ${n} is outside ${v.min}..${v.max}`);
    env.set(v.name, n);
  }
  for (const v of p.sizes!) if (!env.has(v.name)) env.set(v.name, v.max);
  return env;
}

export const profileCommand = {
  summary: 'time every kernel of a model or artifact on the WebGPU adapter (timestamp queries)',
  usage: [
    'Usage: kiln profile MODEL|ARTIFACT [--runs N] [--seed N] [--json] [--input-shape NAME=D0,...]',
    '                                  [--input-value NAME=V0,...] [--sizes S=N,...] [pipeline options]',
    '',
    'Compiles MODEL (or loads ARTIFACT, the variant the device runs), runs it N times (default 5)',
    'on seeded random inputs with a timestamp around every dispatch (run 8 times back to back there,',
    'as timestamps may tick coarser than a small kernel takes), and prints each dispatch with',
    'its device time and share of the total, sorted, plus host time for uploads and readbacks.',
    "Then the adapter's dispatch floor: what an empty dispatch costs it (measured), which every",
    "dispatch's time includes and only fewer dispatches save.",
    "Beside the time: the kernel's work (MFLOP) and traffic (MB), estimated from its node's op and",
    'shapes (a multiply-add is 2 FLOPs, an elementwise op 1 per element; each operand read or',
    'written once, so GB/s is a lower bound), and the GFLOP/s and GB/s they make.',
    'Needs the timestamp-query feature. --json prints one JSON object instead.',
    'A program compiled for a range of shapes runs at its largest sizes, or at --sizes (e.g.',
    '--sizes T=1,B=2); a dispatch that ran one of its kernel variants shows its condition.',
    '',
    inputShapeUsage,
    inputValueUsage,
    '',
    pipelineUsage,
  ].join('\n'),
  options: { runs: { type: 'string' as const }, seed: { type: 'string' as const }, json: { type: 'boolean' as const }, sizes: { type: 'string' as const }, ...inputShapeArgs, ...inputValueArgs, ...pipelineArgs },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new UsageError(`kiln profile takes one MODEL or ARTIFACT, got ${positionals.length}`);
    const runs = values.runs === undefined ? 5 : Number(values.runs);
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs must be a positive integer, got '${String(values.runs)}'`);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got '${String(values.seed)}'`);
    const path = positionals[0]!;
    const artifact = (await isArtifactDir(path)) ? await loadArtifactDir(path) : undefined;
    if (!artifact) checkOnnxOnlyOptions(path, values);
    const compiled = artifact ? undefined : compileWithReport(await loadModel(path, { inputShapes: inputShapesFrom(values), inputValues: await inputValuesFrom(values), itemShapes: itemShapesFrom(values) }), { ...compileOptionsFrom(values), ...(await defaultKernelTarget()) });
    const device = await acquireDevice();
    try {
      const variant = artifact ? artifact.variants[chooseVariant(artifact.manifest, device)]! : undefined;
      if (variant?.segmented) throw new KilnError(`${path} holds segments that run on the CPU (ops without a WebGPU kernel); kiln profile times one WebGPU program: time it with kiln run ${path}`);
      const p: Program = variant ? variant.program! : compiled!.program;
      // The optimised graph the program came from gives each kernel's op and shapes.
      const graph: Graph | undefined = variant ? await artifactGraph(path, variant) : compiled!.graph;
      const sizes = sizesFrom(values.sizes, p);
      const timed = await profileProgram(device, p, randomTensors(sizes ? resolveProgram(p, sizes).inputs : p.inputs, seed), runs);
      const costs = graph ? dispatchCosts(p, sizes ? instantiateGraph(graph, sizes) : graph) : [];
      const profile = { ...timed, dispatches: timed.dispatches.map((d, i) => ({ ...d, ...costs[i] })), dispatchFloorMs: await measureDispatchFloor(device) };
      if (values.json) {
        const where = variant ? { artifact: path, precision: variant.precision } : { model: path };
        console.log(JSON.stringify({ ...where, adapter: device.describe(), program: p.name, kernels: p.kernels.length, ...profile }, null, 2));
        return 0;
      }
      if (variant) console.log(`artifact: ${path}, ${variant.precision} variant`);
      console.log(`adapter: ${device.describe()}`);
      console.log(`model '${p.name}': ${p.dispatches.length} dispatches, ${p.kernels.length} shaders`);
      console.log(formatProfile(profile));
    } finally {
      device.destroy();
    }
    return 0;
  },
};
