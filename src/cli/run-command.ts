import { performance } from 'node:perf_hooks';
import { KilnError } from '../ir/errors.js';
import { printGraph } from '../ir/printer.js';
import { compile } from '../compiler.js';
import { acquireDevice } from '../runtime/device.js';
import { Session } from '../runtime/session.js';
import { runOnCpu } from '../runtime/cpu/executor.js';
import { loadModel } from './load-model.js';
import { compileOptionsFrom, pipelineArgs, pipelineUsage } from './pipeline-options.js';
import { maxAbsDiff, randomInputs, summarize } from './random-inputs.js';

const ms = (t: number) => `${t.toFixed(2)} ms`;

export const runCommand = {
  summary: 'compile a model and run it on WebGPU, printing outputs and timing',
  usage: [
    'Usage: kiln run MODEL [--seed N] [--iterations N] [--compare cpu] [--print-ir] [pipeline options]',
    '',
    'Compiles MODEL, runs it on the WebGPU adapter with seeded random inputs and prints each',
    'output with a summary, the adapter, and timing (first run and steady state apart).',
    '',
    'Options:',
    '  --seed N         seed of the random inputs (default 0)',
    '  --iterations N   steady-state runs to time after the first (default 10)',
    '  --compare cpu    also run the CPU reference and print the max abs difference',
    '  --print-ir       print the IR before compiling',
    '',
    pipelineUsage,
  ].join('\n'),
  options: {
    seed: { type: 'string' as const },
    iterations: { type: 'string' as const },
    compare: { type: 'string' as const },
    'print-ir': { type: 'boolean' as const },
    ...pipelineArgs,
  },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new KilnError(`kiln run takes one MODEL, got ${positionals.length}\n\n${runCommand.usage}`);
    const seed = intOption(values.seed, 'seed', 0);
    const iterations = intOption(values.iterations, 'iterations', 10);
    if (values.compare !== undefined && values.compare !== 'cpu') throw new KilnError(`--compare takes 'cpu', got '${String(values.compare)}'`);

    const graph = await loadModel(positionals[0]!);
    if (values['print-ir']) process.stdout.write(printGraph(graph));
    const t0 = performance.now();
    const program = compile(graph, compileOptionsFrom(values));
    const tCompile = performance.now() - t0;
    const device = await acquireDevice();
    try {
      console.log(`adapter: ${device.describe()}`);
      const t1 = performance.now();
      const session = await Session.create(device, program);
      const tLoad = performance.now() - t1;
      const inputs = randomInputs(graph, seed);
      const t2 = performance.now();
      const outputs = await session.run(inputs);
      const tFirst = performance.now() - t2;
      const t3 = performance.now();
      for (let i = 0; i < iterations; i++) await session.run(inputs);
      const tSteady = iterations ? (performance.now() - t3) / iterations : NaN;
      for (const [name, t] of Object.entries(outputs)) console.log(summarize(name, t));
      console.log(`kernels: ${program.kernels.length} distinct, ${program.dispatches.length} dispatches per run`);
      console.log(`time: compile ${ms(tCompile)}, load ${ms(tLoad)}, first run ${ms(tFirst)}, steady ${iterations ? ms(tSteady) : '-'} (mean of ${iterations})`);
      if (values.compare === 'cpu') {
        const ref = runOnCpu(graph, inputs);
        for (const [name, t] of Object.entries(outputs)) console.log(`max abs diff vs cpu (${name}): ${maxAbsDiff(t, ref[name]!).toExponential(3)}`);
      }
      session.destroy();
    } finally {
      device.destroy();
    }
    return 0;
  },
};

function intOption(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new KilnError(`--${name} must be a non-negative integer, got '${String(v)}'`);
  return n;
}
