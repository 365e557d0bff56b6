import { performance } from 'node:perf_hooks';
import { KilnError } from '../ir/errors.js';
import { compileWithReport } from '../compiler.js';
import { formatStats } from '../codegen/stats.js';
import { loadModel } from './load-model.js';
import { compileOptionsFrom, pipelineArgs, pipelineUsage } from './pipeline-options.js';

export const compileCommand = {
  summary: 'compile a model to WebGPU kernels and report what it became',
  usage: [
    'Usage: kiln compile MODEL [--stats] [--time-passes] [pipeline options]',
    '',
    'Compiles MODEL through the pass pipeline and codegen. (Writing an artifact folder with -o',
    'is not available in this version yet.)',
    '',
    'Options:',
    '  --stats          node, kernel, dispatch and transfer counts; weight bytes; peak device',
    '                   memory as planned (buffers reused by liveness) and naive (one per value)',
    '  --time-passes    time spent in each pass',
    '',
    pipelineUsage,
  ].join('\n'),
  options: {
    stats: { type: 'boolean' as const },
    'time-passes': { type: 'boolean' as const },
    ...pipelineArgs,
  },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new KilnError(`kiln compile takes one MODEL, got ${positionals.length}\n\n${compileCommand.usage}`);
    const t0 = performance.now();
    const graph = await loadModel(positionals[0]!);
    const report = compileWithReport(graph, compileOptionsFrom(values));
    console.log(`compiled ${graph.name}: ${report.program.dispatches.length} dispatches, ${report.program.kernels.length} shaders in ${(performance.now() - t0).toFixed(1)} ms`);
    if (values.stats) console.log(formatStats(report.stats));
    if (values['time-passes']) {
      for (const t of report.timings) console.log(`  ${t.pass.padEnd(16)} ${t.ms.toFixed(2).padStart(8)} ms  nodes ${t.nodesBefore} -> ${t.nodesAfter}`);
    }
    return 0;
  },
};
