import { UsageError } from './errors.js';
import { modelOptionArgs, modelOptionsUsage } from './model-options.js';
import { printGraph } from '../ir/printer.js';
import { graphToDot } from '../ir/dot.js';
import { renderSvg } from '../ir/dot-svg.js';
import { runPasses } from '../passes/manager.js';
import { verify } from '../ir/verify.js';
import { loadModel } from '../frontend/load-model.js';
import { compile, optimize, passContext } from '../compiler.js';
import { formatKernels, listKernels } from '../codegen/kernel-listing.js';
import { selectKernels } from './select-kernels.js';
import { checkedPipeline, checkInPipeline, compileOptionsFrom } from './pipeline-options.js';
import { defaultKernelTarget } from './adapter-target.js';
import { precisionFlags, resolvePrecision } from './precision-options.js';
import { checkOnnxOnlyOptions, inputShapesFrom, itemShapesFrom } from './input-shapes.js';
import { inputValuesFrom } from './input-values.js';

export const irCommand = {
  summary: "print a model's graph as kiln IR text",
  usage: [
    'Usage: kiln ir MODEL [--after PASS] [--format text|dot|svg|wgsl] [--node NAME] [--inline-limit N]',
    '                     [--input-shape NAME=D0,D1,...] [--input-value NAME=V0,V1,...|NAME=FILE.npy]',
    '                     [--precision fp32|fp16|auto] [pipeline options]',
    '',
    'Loads MODEL (.kir IR text, an .onnx model, or a .js or .ts module exporting `model` and `exampleInputs`),',
    'verifies it and prints its IR; with -O<level> or --passes, the IR after that pipeline; with',
    '--after PASS, the IR after the pipeline has run up to and including PASS.',
    'Constants with more than N elements (default 16) are printed as references to their weights.',
    '--format dot prints Graphviz dot (fused kernels as boxes, devices as colours, transfers as',
    'red diamonds, constants listed in the label of the node reading them, dead nodes left out);',
    'svg renders it (with Graphviz built to WebAssembly: no system package is needed).',
    '--format wgsl compiles MODEL and prints every kernel\'s WGSL under a comment naming it and',
    'the dispatches (nodes) it computes; --node NAME prints only the kernel computing %NAME.',
    '',
    ...modelOptionsUsage,
  ].join('\n'),
  options: {
    'inline-limit': { type: 'string' as const }, after: { type: 'string' as const }, format: { type: 'string' as const }, node: { type: 'string' as const },
    ...modelOptionArgs,
  },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new UsageError(`kiln ir takes one MODEL, got ${positionals.length}`);
    checkOnnxOnlyOptions(positionals[0]!, values);
    const graph = await loadModel(positionals[0]!, { inputShapes: inputShapesFrom(values), inputValues: await inputValuesFrom(values), itemShapes: itemShapesFrom(values) });
    verify(graph);
    const format = (values.format as string | undefined) ?? 'text';
    if (!['text', 'dot', 'svg', 'wgsl'].includes(format)) throw new UsageError(`--format takes text, dot, svg or wgsl, got '${format}'`);
    if (values.node !== undefined && format !== 'wgsl') throw new UsageError('--node goes with --format wgsl');
    if (values.after !== undefined && format === 'wgsl') throw new UsageError('--after shows the IR part-way through the pipeline; --format wgsl shows the kernels at its end');
    precisionFlags(values); // bad flags fail before the model loads
    const chosen = await resolvePrecision(values, graph);
    // The passes and kernels kiln compile would take for this machine's adapter.
    const opts = { ...compileOptionsFrom(values), precision: chosen.precision, ioPrecision: chosen.io, ...(await defaultKernelTarget()) };
    const passes = checkedPipeline(opts);
    if (format === 'wgsl') {
      const kernels = listKernels(compile(graph, opts));
      process.stdout.write(formatKernels(selectKernels(kernels, values.node as string | undefined)));
      return 0;
    }
    let optimized = graph;
    if (values.after !== undefined) {
      checkInPipeline('--after', String(values.after), passes, opts);
      const at = passes.findIndex((p) => p.name === values.after);
      optimized = runPasses(graph, passes.slice(0, at + 1), passContext(opts), opts).graph;
    } else if (chosen.precision === 'fp16' || values['opt-level'] !== undefined || values.passes !== undefined || values['print-ir-after'] !== undefined
      || values['print-ir-before'] !== undefined || values['print-ir-after-all'] !== undefined) {
      optimized = optimize(graph, opts).graph;
    }
    const limit = values['inline-limit'] === undefined ? undefined : Number(values['inline-limit']);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new UsageError('--inline-limit must be a non-negative integer');
    if (format === 'text') process.stdout.write(printGraph(optimized, limit === undefined ? {} : { inlineLimit: limit }));
    else if (format === 'dot') process.stdout.write(graphToDot(optimized));
    else process.stdout.write(await renderSvg(graphToDot(optimized)));
    return 0;
  },
};
