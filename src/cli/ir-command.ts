import { KilnError } from '../ir/errors.js';
import { printGraph } from '../ir/printer.js';
import { verify } from '../ir/verify.js';
import { loadModel } from './load-model.js';

export const irCommand = {
  summary: "print a model's graph as kiln IR text",
  usage: [
    'Usage: kiln ir MODEL [--inline-limit N]',
    '',
    'Loads MODEL (.kir IR text, or a .js module exporting `model` and `exampleInputs`),',
    'verifies it and prints its IR. Constants with more than N elements (default 16) are',
    'printed as references to their weights.',
  ].join('\n'),
  options: { 'inline-limit': { type: 'string' as const } },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new KilnError(`kiln ir takes one MODEL, got ${positionals.length}\n\n${irCommand.usage}`);
    const graph = await loadModel(positionals[0]!);
    verify(graph);
    const limit = values['inline-limit'] === undefined ? undefined : Number(values['inline-limit']);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new KilnError('--inline-limit must be a non-negative integer');
    process.stdout.write(printGraph(graph, limit === undefined ? {} : { inlineLimit: limit }));
    return 0;
  },
};
