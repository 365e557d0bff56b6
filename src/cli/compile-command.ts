import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KilnError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { optimize } from '../compiler.js';
import { generate } from '../codegen/generate.js';
import { compileStats, formatStats } from '../codegen/stats.js';
import { saveArtifact } from '../runtime/artifact-node.js';
import { finalIr } from './artifact-ir.js';
import { inputShapeArgs, inputShapesFrom, inputShapeUsage } from './input-shapes.js';
import { loadModel } from './load-model.js';
import { compileOptionsFrom, pipelineArgs, pipelineUsage } from './pipeline-options.js';

const countOps = (g: Graph) => g.nodes.filter((n) => n.op !== 'const').length;
const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

export const compileCommand = {
  summary: 'compile a model to WebGPU kernels; with -o, write an ahead-of-time artifact',
  usage: [
    'Usage: kiln compile MODEL [-o OUT.kiln] [--stats] [--time-passes] [--save-ir] [--quiet]',
    '                          [--input-shape NAME=D0,D1,...] [pipeline options]',
    '',
    'Compiles MODEL through the pass pipeline and codegen, printing one progress line per stage',
    '(load, passes, codegen, write) with its time on stderr. With -o, writes the artifact folder',
    'OUT: manifest.json, kernels/*.wgsl, weights.bin and ir/final.kir. `kiln run OUT` and',
    '`kiln inspect OUT` read it, and so does the runtime-only API (kiln/runtime, InferenceSession).',
    '',
    'Options:',
    '  -o, --output OUT  write the artifact folder OUT (an artifact already there is replaced;',
    '                    a folder holding other files is not touched)',
    '  --save-ir         keep the IR after every pass in OUT/ir/ (as does --print-ir-after-all',
    '                    without =DIR when -o is given)',
    '  --stats           node, kernel, dispatch and transfer counts; weight bytes; peak device',
    '                    memory as planned (buffers reused by liveness) and naive (one per value)',
    '  --time-passes     time spent in each pass',
    '  --quiet           no progress lines',
    inputShapeUsage,
    '',
    pipelineUsage,
  ].join('\n'),
  options: {
    output: { type: 'string' as const, short: 'o' },
    stats: { type: 'boolean' as const },
    'time-passes': { type: 'boolean' as const },
    'save-ir': { type: 'boolean' as const },
    quiet: { type: 'boolean' as const },
    ...inputShapeArgs,
    ...pipelineArgs,
  },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new KilnError(`kiln compile takes one MODEL, got ${positionals.length}\n\n${compileCommand.usage}`);
    const path = positionals[0]!;
    const out = values.output as string | undefined;
    if (out === '') throw new KilnError('-o needs a folder name, e.g. -o model.kiln');
    const saveIr = values['save-ir'] === true || (values['print-ir-after-all'] === true && values['ir-dump-dir'] === undefined && out !== undefined);
    if (values['save-ir'] && out === undefined) throw new KilnError('--save-ir keeps the IR in the artifact: give -o OUT too (or use --print-ir-after-all=DIR)');
    const inputShapes = inputShapesFrom(values);
    const options = compileOptionsFrom(values);

    const t0 = performance.now();
    const stage = async <T>(name: string, work: () => T | Promise<T>, detail: (r: T) => string): Promise<T> => {
      const t = performance.now();
      const result = await work();
      if (!values.quiet) process.stderr.write(`${name.padEnd(8)} ${(performance.now() - t).toFixed(1).padStart(9)} ms  ${detail(result)}\n`);
      return result;
    };

    const graph = await stage('load', () => loadModel(path, { inputShapes }), (g) => `${basename(path)}: graph '${g.name}', ${countOps(g)} ops`);
    const dumps: { file: string; text: string }[] = [];
    const pipelineOptions = saveIr
      ? { ...options, printAfterAll: true, sink: (d: { pass: string; when: string; index: number; text: string }) => { dumps.push({ file: `${String(d.index).padStart(2, '0')}-${d.when}-${d.pass}`, text: d.text }); } }
      : options;
    const optimized = await stage('passes', () => optimize(graph, pipelineOptions), (r) => `${options.pipeline}: ${countOps(graph)} -> ${countOps(r.graph)} ops`);
    const { program, memory } = await stage('codegen', () => generate(optimized.graph), (r) => `${r.program.kernels.length} distinct kernels, ${r.program.dispatches.length} dispatches per run`);
    if (out !== undefined) {
      await stage(
        'write',
        () => saveArtifact(out, program, { compiler: { pipeline: options.pipeline ?? 'O2' }, ir: { ...finalIr(optimized.graph, program), passes: dumps } }),
        (p) => `${out}: ${p.manifest.program.kernels.length} kernel files, ${kib(p.weights.byteLength)} of weights${dumps.length ? `, ${dumps.length} IR dumps` : ''}`,
      );
    }

    const where = out !== undefined ? ` -> ${out}` : '';
    console.log(`compiled ${graph.name}: ${program.dispatches.length} dispatches, ${program.kernels.length} shaders in ${(performance.now() - t0).toFixed(1)} ms${where}`);
    if (values.stats) console.log(formatStats(compileStats(graph, optimized.graph, program, memory)));
    if (values['time-passes']) {
      for (const t of optimized.timings) console.log(`  ${t.pass.padEnd(16)} ${t.ms.toFixed(2).padStart(8)} ms  nodes ${t.nodesBefore} -> ${t.nodesAfter}`);
    }
    return 0;
  },
};
