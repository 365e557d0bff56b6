import { KilnError } from '../ir/errors.js';
import { printGraph } from '../ir/printer.js';
import { verify } from '../ir/verify.js';
import { loadModel } from './load-model.js';
import { optimize } from '../compiler.js';
import { compileOptionsFrom, pipelineArgs, pipelineUsage } from './pipeline-options.js';

export const irCommand = {
  summary: "print a model's graph as kiln IR text",
  usage: [
    'Usage: kiln ir MODEL [--inline-limit N] [pipeline options]',
    '',
    'Loads MODEL (.kir IR text, or a .js module exporting `model` and `exampleInputs`),',
    'verifies it and prints its IR; with -O<level> or --passes, the IR after that pipeline.',
    'Constants with more than N elements (default 16) are printed as references to their weights.',
    '',
    pipelineUsage,
  ].join('\n'),
  options: { 'inline-limit': { type: 'string' as const }, ...pipelineArgs },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new KilnError(`kiln ir takes one MODEL, got ${positionals.length}\n\n${irCommand.usage}`);
    const graph = await loadModel(positionals[0]!);
    verify(graph);
    const optimized = values['opt-level'] !== undefined || values.passes !== undefined || values['print-ir-after'] !== undefined
      || values['print-ir-before'] !== undefined || values['print-ir-after-all'] !== undefined
      ? optimize(graph, compileOptionsFrom(values)).graph : graph;
    const limit = values['inline-limit'] === undefined ? undefined : Number(values['inline-limit']);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new KilnError('--inline-limit must be a non-negative integer');
    process.stdout.write(printGraph(optimized, limit === undefined ? {} : { inlineLimit: limit }));
    return 0;
  },
};
