import { KilnError } from '../ir/errors.js';
import { compile } from '../compiler.js';
import { acquireDevice } from '../runtime/device.js';
import { formatProfile, profileProgram } from '../runtime/profiler.js';
import { loadModel } from './load-model.js';
import { compileOptionsFrom, pipelineArgs, pipelineUsage } from './pipeline-options.js';
import { randomInputs } from './random-inputs.js';

export const profileCommand = {
  summary: 'time every kernel of a model on the WebGPU adapter (timestamp queries)',
  usage: [
    'Usage: kiln profile MODEL [--runs N] [--seed N] [pipeline options]',
    '',
    'Compiles MODEL, runs it N times (default 5) on seeded random inputs with a timestamp',
    'around every dispatch, and prints each dispatch with its device time and share of the',
    'total, sorted, plus host time for uploads and readbacks. Needs the timestamp-query feature.',
    '',
    pipelineUsage,
  ].join('\n'),
  options: { runs: { type: 'string' as const }, seed: { type: 'string' as const }, ...pipelineArgs },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new KilnError(`kiln profile takes one MODEL, got ${positionals.length}\n\n${profileCommand.usage}`);
    const runs = values.runs === undefined ? 5 : Number(values.runs);
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isInteger(runs) || runs < 1) throw new KilnError(`--runs must be a positive integer, got '${String(values.runs)}'`);
    if (!Number.isInteger(seed) || seed < 0) throw new KilnError(`--seed must be a non-negative integer, got '${String(values.seed)}'`);
    const graph = await loadModel(positionals[0]!);
    const program = compile(graph, compileOptionsFrom(values));
    const device = await acquireDevice();
    try {
      console.log(`adapter: ${device.describe()}`);
      console.log(`${program.name}: ${program.dispatches.length} dispatches, ${program.kernels.length} shaders`);
      console.log(formatProfile(await profileProgram(device, program, randomInputs(graph, seed), runs)));
    } finally {
      device.destroy();
    }
    return 0;
  },
};
