import { UsageError } from './errors.js';
import { compileWithReport } from '../compiler.js';
import type { Graph } from '../ir/graph.js';
import { artifactGraph } from './artifact-ir.js';
import { dispatchCosts } from './kernel-cost.js';
import { chooseVariant } from '../runtime/artifact-device.js';
import { isArtifactDir, loadArtifactDir } from '../runtime/artifact-node.js';
import { acquireDevice } from '../runtime/device.js';
import type { Program } from '../runtime/program.js';
import { formatProfile, profileProgram } from '../runtime/profiler.js';
import { checkOnnxOnlyOptions, inputShapeArgs, inputShapesFrom, inputShapeUsage } from './input-shapes.js';
import { loadModel } from '../frontend/load-model.js';
import { inputValueArgs, inputValuesFrom, inputValueUsage } from './input-values.js';
import { compileOptionsFrom, pipelineArgs, pipelineUsage } from './pipeline-options.js';
import { randomTensors } from '../io/random-inputs.js';

export const profileCommand = {
  summary: 'time every kernel of a model or artifact on the WebGPU adapter (timestamp queries)',
  usage: [
    'Usage: kiln profile MODEL|ARTIFACT [--runs N] [--seed N] [--json] [--input-shape NAME=D0,...]',
    '                                  [--input-value NAME=V0,...] [pipeline options]',
    '',
    'Compiles MODEL (or loads ARTIFACT, the variant the device runs), runs it N times (default 5)',
    'on seeded random inputs with a timestamp around every dispatch, and prints each dispatch with',
    'its device time and share of the total, sorted, plus host time for uploads and readbacks.',
    "Beside the time: the kernel's work (MFLOP) and traffic (MB), estimated from its node's op and",
    'shapes (a multiply-add is 2 FLOPs, an elementwise op 1 per element; each operand read or',
    'written once, so GB/s is a lower bound), and the GFLOP/s and GB/s they make.',
    'Needs the timestamp-query feature. --json prints one JSON object instead.',
    '',
    inputShapeUsage,
    inputValueUsage,
    '',
    pipelineUsage,
  ].join('\n'),
  options: { runs: { type: 'string' as const }, seed: { type: 'string' as const }, json: { type: 'boolean' as const }, ...inputShapeArgs, ...inputValueArgs, ...pipelineArgs },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new UsageError(`kiln profile takes one MODEL or ARTIFACT, got ${positionals.length}`);
    const runs = values.runs === undefined ? 5 : Number(values.runs);
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs must be a positive integer, got '${String(values.runs)}'`);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got '${String(values.seed)}'`);
    const path = positionals[0]!;
    const artifact = (await isArtifactDir(path)) ? await loadArtifactDir(path) : undefined;
    if (!artifact) checkOnnxOnlyOptions(path, values);
    const compiled = artifact ? undefined : compileWithReport(await loadModel(path, { inputShapes: inputShapesFrom(values), inputValues: await inputValuesFrom(values) }), compileOptionsFrom(values));
    const device = await acquireDevice();
    try {
      const variant = artifact ? artifact.variants[chooseVariant(artifact.manifest, device)]! : undefined;
      const p: Program = variant ? variant.program : compiled!.program;
      // The optimised graph the program came from gives each kernel's op and shapes.
      const graph: Graph | undefined = variant ? await artifactGraph(path, variant) : compiled!.graph;
      const timed = await profileProgram(device, p, randomTensors(p.inputs, seed), runs);
      const costs = graph ? dispatchCosts(p, graph) : [];
      const profile = { ...timed, dispatches: timed.dispatches.map((d, i) => ({ ...d, ...costs[i] })) };
      if (values.json) {
        const where = variant ? { artifact: path, precision: variant.precision } : { model: path };
        console.log(JSON.stringify({ ...where, adapter: device.describe(), program: p.name, kernels: p.kernels.length, ...profile }, null, 2));
        return 0;
      }
      if (variant) console.log(`artifact: ${path}, ${variant.precision} variant`);
      console.log(`adapter: ${device.describe()}`);
      console.log(`${p.name}: ${p.dispatches.length} dispatches, ${p.kernels.length} shaders`);
      console.log(formatProfile(profile));
    } finally {
      device.destroy();
    }
    return 0;
  },
};
