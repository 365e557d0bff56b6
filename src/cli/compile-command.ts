import { basename } from 'node:path';
import { modelOptionArgs, modelOptionsUsage } from './model-options.js';
import { UsageError } from './errors.js';
import { performance } from 'node:perf_hooks';
import type { Graph } from '../ir/graph.js';
import { isPlacedOnSeveralDevices, optimize } from '../compiler.js';
import { generate } from '../codegen/generate.js';
import { segment } from '../codegen/segment.js';
import type { SegmentedProgram } from '../runtime/segmented.js';
import { compileStats, formatStats } from '../codegen/stats.js';
import { checkArtifactDir, saveArtifact } from '../artifact-writer/folder.js';
import type { VariantSource } from '../artifact-writer/pack.js';
import type { Program } from '../runtime/program.js';
import { finalIr } from './artifact-ir.js';
import { annotateKernels } from '../codegen/kernel-listing.js';
import { acquireDevice, type GpuDevice } from '../runtime/device.js';
import { tuneGraph } from '../codegen/tune.js';
import { heuristicChooser } from '../codegen/lower/heuristics.js';
import type { KernelChooser } from '../codegen/lower/lowering.js';
import { defaultKernelTarget } from './adapter-target.js';
import { checkOnnxOnlyOptions, inputShapesFrom, itemShapesFrom } from './input-shapes.js';
import { inputValuesFrom } from './input-values.js';
import { loadModelWithLayout } from '../frontend/load-model.js';
import { checkedPipeline, compileOptionsFrom } from './pipeline-options.js';
import { precisionFlags, resolvePrecision } from './precision-options.js';

const countOps = (g: Graph) => g.nodes.filter((n) => n.op !== 'const').length;

/** The WebGPU programs of a segmented program. */
const programsOf = (p: SegmentedProgram): Program[] => p.segments.flatMap((s) => (s.device === 'webgpu' ? [s.program] : []));

/** `3 segments (1 on the CPU), 2 transfers` */
const describeSegmented = (p: SegmentedProgram) => `${p.segments.length} segments (${p.segments.filter((s) => s.device === 'cpu').length} on the CPU), ${p.transfers} transfers`;

/** Each WebGPU segment's kernels annotated as a single program's are. */
const annotateSegments = (p: SegmentedProgram): SegmentedProgram => ({
  ...p, segments: p.segments.map((s) => (s.device === 'webgpu' ? { ...s, program: annotateKernels(s.program) } : s)),
});
const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

export const compileCommand = {
  summary: 'compile a model to WebGPU kernels; with -o, write an ahead-of-time artifact',
  usage: [
    'Usage: kiln compile MODEL [-o OUT.kiln] [--stats] [--time-passes] [--save-ir] [--quiet] [--json]',
    '                          [--precision fp32|fp16|auto] [--io-precision fp32|fp16] [--no-fallback]',
    '                          [--tune [--tuning-cache FILE]] [--input-shape NAME=D0,D1,...]',
    '                          [--input-value NAME=V0,V1,...|NAME=FILE.npy] [pipeline options]',
    '',
    'Compiles MODEL through the pass pipeline and codegen, printing one progress line per stage',
    '(load, passes, codegen, write) with its time on stderr. With -o, writes the artifact folder',
    'OUT: manifest.json, kernels/*.wgsl, weights.bin and ir/final.kir. `kiln run OUT` and',
    '`kiln inspect OUT` read it, and so does the runtime-only API (kiln/runtime, InferenceSession).',
    'An f16 artifact also carries an f32 fallback (in OUT/fp32/), which a runtime loads where the',
    'device lacks shader-f16.',
    '',
    'Options:',
    '  -o, --output OUT  write the artifact folder OUT (an artifact already there is replaced;',
    '                    a folder holding other files is not touched)',
    '  --save-ir         keep the IR after every pass in OUT/ir/ (as does --print-ir-after-all',
    '                    without =DIR when -o is given)',
    '  --stats           node, kernel, dispatch and transfer counts; weight bytes; peak device',
    '                    memory as planned (buffers reused by liveness) and naive (one per value);',
    '                    under fp16, the f32 figures beside them',
    '  --no-fallback     with -o under fp16: write the f16 program only (devices without',
    '                    shader-f16 then cannot load the artifact)',
    '  --time-passes     time spent in each pass',
    '  --tune            time each kernel variant of every matmul, gemm, conv2d, conv pair,',
    '                    conv_transpose2d, resize, concat, reduction, softmax, layer_norm and fused',
    '                    attention (matmul: vec4b, scalar, tiled, rows1, ...; conv2d: direct, gemm,',
    '                    rows, dwrows, pointmm, ...; concat: flat, loops; reductions: invocation,',
    '                    workgroup; attention: workgroup, rows)',
    '                    on this adapter and keep the fastest per problem; choices are cached per adapter',
    '                    and signature (--tuning-cache FILE, default ~/.cache/kiln/tuning.json)',
    '                    and baked into the kernels written; without --tune a heuristic picks',
    '  --quiet           print nothing on success (--stats and --time-passes still print)',
    '  --json            print one JSON object (what was compiled, --stats figures, --time-passes',
    '                    timings) and no progress lines',
    ...modelOptionsUsage,
  ].join('\n'),
  options: {
    output: { type: 'string' as const, short: 'o' },
    stats: { type: 'boolean' as const },
    'time-passes': { type: 'boolean' as const },
    'save-ir': { type: 'boolean' as const },
    quiet: { type: 'boolean' as const },
    json: { type: 'boolean' as const },
    'no-fallback': { type: 'boolean' as const },
    tune: { type: 'boolean' as const },
    'tuning-cache': { type: 'string' as const },
    ...modelOptionArgs,
  },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new UsageError(`kiln compile takes one MODEL, got ${positionals.length}`);
    const path = positionals[0]!;
    const out = values.output as string | undefined;
    if (out === '') throw new UsageError('-o needs a folder name, e.g. -o model.kiln');
    const saveIr = values['save-ir'] === true || (values['print-ir-after-all'] === true && values['ir-dump-dir'] === undefined && out !== undefined);
    if (values['save-ir'] && out === undefined) throw new UsageError('--save-ir keeps the IR in the artifact: give -o OUT too (or use --print-ir-after-all=DIR)');
    if (values['tuning-cache'] !== undefined && !values.tune) throw new UsageError('--tuning-cache goes with --tune');
    checkOnnxOnlyOptions(path, values);
    const inputShapes = inputShapesFrom(values);
    const inputValues = await inputValuesFrom(values);
    const frozen = Object.keys(inputValues);
    const options = compileOptionsFrom(values);
    precisionFlags(values); // bad flags fail before the model loads
    if (out !== undefined) await checkArtifactDir(out); // and so does an output folder that cannot take an artifact

    const json = values.json === true;
    const quiet = values.quiet === true || json;
    const report: Record<string, unknown> = { model: path };
    const t0 = performance.now();
    const stage = async <T>(name: string, work: () => T | Promise<T>, detail: (r: T) => string): Promise<T> => {
      const t = performance.now();
      const result = await work();
      if (!quiet) process.stderr.write(`${name.padEnd(8)} ${(performance.now() - t).toFixed(1).padStart(9)} ms  ${detail(result)}\n`);
      return result;
    };

    const { graph, layout } = await stage(
      'load', () => loadModelWithLayout(path, { inputShapes, inputValues, itemShapes: itemShapesFrom(values) }),
      ({ graph: g }) => `${basename(path)}: graph '${g.name}', ${countOps(g)} ops${frozen.length ? `; frozen (constants, no longer inputs): ${frozen.join(', ')}` : ''}`,
    );
    const chosen = await resolvePrecision(values, graph);
    // Kernel variants and some passes (fuse-attention, fuse-pointwise-pairs) follow the adapter.
    const target = await defaultKernelTarget();
    checkedPipeline({ ...options, precision: chosen.precision, ioPrecision: chosen.io, ...target });
    if (chosen.line && !quiet) console.log(`precision: ${chosen.line}`);
    report.precision = chosen.precision;
    const fallback = out !== undefined && chosen.precision === 'fp16' && values['no-fallback'] !== true;
    if (values['no-fallback'] && !(out !== undefined && chosen.precision === 'fp16')) {
      throw new UsageError('--no-fallback applies when writing an f16 artifact (-o OUT with --precision fp16 or auto picking fp16)');
    }

    // Kernel variants: measured with --tune, else by the adapter's class; every choice is recorded.
    const heuristic = heuristicChooser(target?.adapterClass, target?.adapterFeatures);
    const kernelChoices: Record<string, string> = {};
    const recording = (tuned: KernelChooser | undefined): KernelChooser => (family, signature, variants) => {
      const pick = tuned?.(family, signature, variants);
      const v = pick ?? heuristic(family, signature, variants);
      // No choice (a product over symbolic sizes): the lowering's default, as without a chooser.
      if (v !== undefined) kernelChoices[`${family}|${signature}`] = `${v} (${pick ? 'tuned' : `heuristic: ${target?.adapterClass ?? 'no adapter found'}`})`;
      return v;
    };

    // --tune measures kernel variants on the adapter; one device serves every variant compiled.
    let tuneDevice: GpuDevice | undefined;
    const tune = async (g: Graph) => {
      tuneDevice ??= await acquireDevice();
      const cachePath = values['tuning-cache'] as string | undefined;
      return tuneGraph(g, tuneDevice, { ...(cachePath ? { cachePath } : {}), ...(quiet ? {} : { log: (m: string) => process.stderr.write(`         ${m}\n`) }) });
    };

    // One variant: optimise and generate at a precision, keeping per-pass dumps when asked.
    const compileVariant = async (precision: 'fp32' | 'fp16', names: { passes: string; codegen: string }) => {
      const dumps: { file: string; text: string }[] = [];
      const sink = (d: { pass: string; when: string; index: number; text: string }) => { dumps.push({ file: `${String(d.index).padStart(2, '0')}-${d.when}-${d.pass}`, text: d.text }); };
      const base = precision === chosen.precision ? options : { pipeline: options.pipeline };
      // Passes' notes (what quantize-weights stored as int8 and left float, f16 overflow) go with the progress lines.
      const log = quiet ? {} : { log: (m: string) => process.stderr.write(m.split('\n').map((l) => `         ${l}\n`).join('')) };
      const opts = { ...base, precision, ...target, ...(precision === 'fp16' ? { ioPrecision: chosen.io } : {}), ...(saveIr ? { printAfterAll: true, sink } : {}), ...log };
      const optimized = await stage(names.passes, () => optimize(graph, opts), (r) => `${options.pipeline}${precision === 'fp16' ? ', fp16' : ''}: ${countOps(graph)} -> ${countOps(r.graph)} ops`);
      const tuned = values.tune ? await stage('tune', () => tune(optimized.graph), (r) => `${r.decisions.length} kernel problem(s), ${r.decisions.filter((d) => d.cached).length} from the cache`) : undefined;
      // Ops without a WebGPU kernel (placed on the CPU) make the program segments, one per device run.
      if (isPlacedOnSeveralDevices(optimized.graph)) {
        const segmented = await stage(names.codegen, () => segment(optimized.graph, { choose: recording(tuned?.choose) }), (r) => `${describeSegmented(r)}, ${programsOf(r).reduce((n, p) => n + p.kernels.length, 0)} distinct kernels`);
        return { precision, optimized, segmented, program: undefined, memory: undefined, dumps };
      }
      const generated = await stage(names.codegen, () => generate(optimized.graph, { choose: recording(tuned?.choose) }), (r) => `${r.program.kernels.length} distinct kernels, ${r.program.dispatches.length} dispatches per run`);
      return { precision, optimized, ...generated, dumps };
    };
    let compiled: Awaited<ReturnType<typeof compileVariant>>[];
    try {
      compiled = [await compileVariant(chosen.precision, { passes: 'passes', codegen: 'codegen' })];
      if (fallback) compiled.push(await compileVariant('fp32', { passes: 'fallback', codegen: 'codegen' }));
    } finally {
      tuneDevice?.destroy();
    }
    const primary = compiled[0]!;
    if (out !== undefined) {
      const variants: VariantSource[] = compiled.map((c) => (c.segmented
        ? { segmented: annotateSegments(c.segmented), precision: c.precision, ir: { passes: c.dumps } }
        : { program: annotateKernels(c.program), precision: c.precision, ir: { ...finalIr(c.optimized.graph, c.program), passes: c.dumps } }));
      const weightBytes = (c: (typeof compiled)[number]) => kib((c.segmented ? programsOf(c.segmented) : [c.program]).reduce((n, p) => n + p.weights.byteLength, 0));
      const dumpCount = compiled.reduce((n, c) => n + c.dumps.length, 0);
      await stage(
        'write',
        () => saveArtifact(out, variants, { compiler: { pipeline: options.pipeline ?? 'O2', ...(Object.keys(kernelChoices).length ? { kernelChoices } : {}) }, layout }),
        (p) => `${out}: ${Object.keys(p.kernels).length} kernel files, ${compiled.map((c) => `${weightBytes(c)} of ${compiled.length > 1 ? `${c.precision} ` : ''}weights`).join(' + ')}${dumpCount ? `, ${dumpCount} IR dumps` : ''}`,
      );
    }

    const where = out !== undefined ? ` -> ${out}${fallback ? ' (fp16, with an fp32 fallback)' : ''}` : '';
    const totalMs = performance.now() - t0;
    const programs = primary.segmented ? programsOf(primary.segmented) : [primary.program];
    const dispatches = programs.reduce((n, p) => n + p.dispatches.length, 0);
    const shaders = programs.reduce((n, p) => n + p.kernels.length, 0);
    const segments = primary.segmented ? `, ${describeSegmented(primary.segmented)}` : '';
    if (!quiet) console.log(`compiled '${graph.name}': ${dispatches} dispatches, ${shaders} shaders${segments} in ${totalMs.toFixed(1)} ms${where}`);
    Object.assign(report, {
      graph: graph.name, dispatches, kernels: shaders, ms: totalMs, ...(out !== undefined ? { output: out, fallback } : {}),
      ...(primary.segmented ? { segments: primary.segmented.segments.map((x) => x.device), transfers: primary.segmented.transfers } : {}),
    });
    const { program, memory, optimized } = primary;
    if (values.stats && (!program || !memory)) {
      // The figures describe one WebGPU program and its memory plan; a segmented program has several.
      if (!json) console.log(`stats: not given for a program placed on several devices (${describeSegmented(primary.segmented!)}); kiln inspect OUT lists each segment`);
    } else if (values.stats && program && memory) {
      const stats = compileStats(graph, optimized.graph, program, memory);
      report.stats = stats;
      if (!json) console.log(formatStats(stats));
      if (chosen.precision === 'fp16') {
        // The f32 figures beside the f16 ones, so that the halving shows; compiled now if not written.
        const f32 = compiled.find((c) => c.precision === 'fp32') ?? await compileVariant('fp32', { passes: 'f32 stats', codegen: 'codegen' });
        const s16 = stats;
        const s32 = f32.program && f32.memory ? compileStats(graph, f32.optimized.graph, f32.program, f32.memory) : stats;
        const ratio = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(0)}%` : '-');
        report.statsFp32 = s32;
        if (!json) console.log(`precision:          fp16: weights ${kib(s16.weightBytes)} vs ${kib(s32.weightBytes)} in f32 (${ratio(s16.weightBytes, s32.weightBytes)}), intermediates ${kib(s16.scratchBytesPlanned)} vs ${kib(s32.scratchBytesPlanned)} (${ratio(s16.scratchBytesPlanned, s32.scratchBytesPlanned)})`);
      }
    }
    if (values['time-passes']) report.passTimes = optimized.timings;
    if (values['time-passes'] && !json) {
      for (const t of optimized.timings) console.log(`  ${t.pass.padEnd(16)} ${t.ms.toFixed(2).padStart(8)} ms  nodes ${t.nodesBefore} -> ${t.nodesAfter}`);
    }
    if (json) console.log(JSON.stringify(report, null, 2));
    return 0;
  },
};
