import { performance } from 'node:perf_hooks';
import { UsageError } from './errors.js';
import { KilnError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { printGraph } from '../ir/printer.js';
import { stringsOf, type TensorData } from '../ir/tensor-data.js';
import { compileSegmented } from '../compiler.js';
import type { LoadedArtifact, LoadedVariant } from '../runtime/artifact.js';
import { deviceProblems } from '../runtime/artifact-device.js';
import { isArtifactDir, loadArtifactDir } from '../runtime/artifact-node.js';
import { acquireDevice, type GpuDevice } from '../runtime/device.js';
import { InferenceSession } from '../runtime/inference-session.js';
import { Session } from '../runtime/session.js';
import type { SessionOptions } from '../runtime/session-options.js';
import { RunTimeoutError } from '../runtime/run-deadline.js';
import { runOnCpu } from '../runtime/cpu/executor.js';
import { artifactGraph } from './artifact-ir.js';
import { loadModelForFeeds } from '../frontend/load-model.js';
import { compileOptionsFrom, pipelineArgs, pipelineUsage } from './pipeline-options.js';
import { defaultKernelTarget } from './adapter-target.js';
import { precisionArgs, precisionFlags, precisionUsage, resolvePrecision } from './precision-options.js';
import { fromF16Array } from '../ir/f16.js';
import { checkOnnxOnlyOptions, inputShapeArgs, inputShapesFrom, inputShapeUsage, itemShapesFrom } from './input-shapes.js';
import { numbers } from '../io/random-inputs.js';
import { summarize } from './tensor-summary.js';
import { compareOutput, defaultTolerance, formatComparison, type Tolerance } from './compare.js';
import type { Precision } from '../runtime/manifest.js';
import type { Program } from '../runtime/program.js';
import { SegmentedSession, type SegmentedProgram } from '../runtime/segmented.js';
import { formatRunTimes, gatherInputs, inputFilesFor, outputFiles, readInputFiles, saveOutputs, structureLines, timeRuns, type InputArg, type TensorSpec } from './run-io.js';
import { tensorLayout, type IoLayout } from '../runtime/io-layout.js';

const ms = (t: number) => `${t.toFixed(2)} ms`;

/** What `kiln run` needs of a model or an artifact, however it was obtained. */
interface RunTarget {
  readonly inputs: readonly TensorSpec[];
  /** Model inputs compiled as constants from their --input files (they decide shapes or parameters). */
  readonly frozen: readonly string[];
  /** How the model's inputs and outputs (sequences and optionals among them) map to the program's tensors. */
  readonly layout: IoLayout;
  readonly kernels: number;
  readonly dispatches: number;
  /** Lines printed before running (what was loaded). */
  readonly header: readonly string[];
  /** Timings before loading on the device, by stage (`compile`, `read and validate`), in ms. */
  readonly prepTimes: Readonly<Record<string, number>>;
  /** The precision of what runs (the loaded variant's, for an artifact). */
  precision(): Precision;
  load(device: GpuDevice, opts: SessionOptions): Promise<{
    run: (inputs: Record<string, TensorData>) => Promise<Record<string, TensorData>>;
    release: () => Promise<void>;
    /** A line printed once loaded (e.g. which variant of an artifact the device got). */
    note?: string;
  }>;
  /** The graph the CPU reference runs, or why there is none. */
  reference(): Promise<Graph | string>;
  /**
   * A model compiled to compute otherwise than written (fp16, int8 or int4 weights): the model as
   * written, whose CPU output's difference is reported beside the check as that error, unchecked. The
   * reference itself runs the optimised graph (f16, the same quantized weights dequantized), so that it
   * checks the kernels.
   */
  readonly written?: { readonly graph: Graph; readonly what: string; readonly against: string; readonly error: string };
}

export const runCommand = {
  summary: 'run a model or a compiled artifact on WebGPU, printing outputs and timing',
  usage: [
    'Usage: kiln run MODEL|ARTIFACT [--input NAME=FILE.npy ...] [--random-inputs] [--seed N]',
    '                [--save-outputs DIR] [--iterations N] [--compare cpu [--atol X] [--rtol Y]]',
    '                [--timeout SECONDS] [--print-ir] [--json]',
    '                [--precision fp32|fp16|auto] [--io-precision fp32|fp16]',
    '                [--input-shape NAME=D0,D1,...] [pipeline options]',
    '',
    'Runs MODEL (compiled first) or ARTIFACT (a folder written by kiln compile -o, loaded with the',
    'runtime alone) on the WebGPU adapter, and prints each output with a summary, the adapter,',
    'and timing (first run and steady state apart). An artifact with several variants (f16 and its',
    'f32 fallback) runs the first the device supports, and says which; --precision fp32|fp16',
    'picks one.',
    '',
    'Options:',
    '  --input NAME=FILE.npy  an input from a NumPy .npy file (repeatable; FILE.npy alone for a',
    '                         model with one input). int64/float64 files are narrowed to i32/f32.',
    '                         An ONNX sequence input takes its items as NAME=A.npy,B.npy,... (a',
    '                         trailing comma makes a sequence of one: NAME=A.npy,); an optional input',
    '                         without a value is NAME=none. Their lengths and presence are compiled in.',
    '                         An ONNX input that decides shapes or parameters (Reduce axes, Resize',
    '                         scales, Slice starts, Reshape shape, ...) is compiled as a constant from',
    '                         its file (frozen; said on stderr), since kiln compiles static shapes.',
    '  --random-inputs        fill inputs without --input with seeded random values (the default',
    '                         when no --input is given)',
    '  --seed N               seed of the random inputs (default 0)',
    '  --save-outputs DIR     write each output as DIR/NAME.npy; a sequence output as one file per',
    '                         item, DIR/NAME_0.npy, DIR/NAME_1.npy, ...; an optional output without a',
    '                         value writes no file',
    '  --iterations N         steady-state runs to time after the first (default 10)',
    '  --timeout SECONDS      the deadline of each run (default 60; 0: none): a large model on a',
    '                         software adapter may need more',
    '  --compare cpu          also run the CPU reference and print the max abs difference (for an',
    "                         artifact, on the optimised graph it keeps in ir/final.kir; under",
    '                         fp16 or --weights int8|int4, on the same f16 graph or quantized weights, and the',
    '                         difference from the f32 model is printed as their error); exits 1',
    '                         when an element is outside |kiln - cpu| <= atol + rtol * |cpu|',
    '  --atol X, --rtol Y     the tolerance of --compare (default 1e-4 and 1e-4; 1e-2 and 1e-2 for',
    '                         an f16 program)',
    '  --json                 print one JSON object (adapter, outputs, timings, comparison) instead',
    '                         of text',
    '  --print-ir             print the IR before compiling (MODEL only)',
    inputShapeUsage,
    '',
    precisionUsage,
    '',
    pipelineUsage,
    '(--input-shape, --io-precision and pipeline options apply to a MODEL; an artifact is already',
    'compiled.)',
  ].join('\n'),
  options: {
    input: { type: 'string' as const, multiple: true },
    'random-inputs': { type: 'boolean' as const },
    seed: { type: 'string' as const },
    'save-outputs': { type: 'string' as const },
    iterations: { type: 'string' as const },
    timeout: { type: 'string' as const },
    compare: { type: 'string' as const },
    atol: { type: 'string' as const },
    rtol: { type: 'string' as const },
    json: { type: 'boolean' as const },
    'print-ir': { type: 'boolean' as const },
    ...precisionArgs,
    ...inputShapeArgs,
    ...pipelineArgs,
  },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new UsageError(`kiln run takes one MODEL or ARTIFACT, got ${positionals.length}`);
    const path = positionals[0]!;
    const seed = intOption(values.seed, 'seed', 0);
    const iterations = intOption(values.iterations, 'iterations', 10);
    const timeout = nonNegativeOption(values, 'timeout', 'seconds, a non-negative number (0: no deadline)');
    const sessionOptions = timeout === undefined ? {} : { runTimeoutMs: timeout * 1000 };
    if (values.compare !== undefined && values.compare !== 'cpu') throw new UsageError(`--compare takes 'cpu', got '${String(values.compare)}'`);
    const tolerance = toleranceOptions(values);
    precisionFlags(values); // bad flags fail before the model loads
    const json = values.json === true;
    // With --json, stdout carries the JSON object alone.
    const say = json ? () => undefined : (line: string) => console.log(line);

    const args = await readInputFiles((values.input as string[] | undefined) ?? []);
    const target = (await isArtifactDir(path)) ? await artifactTarget(path, values) : await modelTarget(path, values, args, say);
    // A sequence's files are its item tensors in the program.
    const files = inputFilesFor(target.layout, args);
    const inputs = await gatherInputs(target.inputs, {
      // Frozen inputs are constants of the compiled program, no longer its inputs.
      files: files.filter((f) => f.name === undefined || !target.frozen.includes(f.name)),
      random: values['random-inputs'] === true,
      seed,
    });
    const report: Record<string, unknown> = { model: path };
    const device = await acquireDevice();
    try {
      report.adapter = device.describe();
      say(`adapter: ${device.describe()}`);
      for (const line of target.header) say(line);
      const t1 = performance.now();
      const loaded = await target.load(device, sessionOptions);
      const tLoad = performance.now() - t1;
      if (loaded.note) say(loaded.note);
      let outputs: Record<string, TensorData>;
      try {
        const { result, times } = await timeRuns(() => loaded.run(inputs), iterations).catch((e: unknown) => {
          throw e instanceof RunTimeoutError ? new KilnError(`${e.message}; kiln run --timeout SECONDS sets a longer deadline`) : e;
        });
        outputs = result;
        for (const line of structureLines(target.layout)) say(line);
        for (const [name, t] of Object.entries(outputs)) say(summarize(name, t));
        say(`kernels: ${target.kernels} distinct, ${target.dispatches} dispatches per run`);
        say(`time: ${[...Object.entries(target.prepTimes).map(([k, t]) => `${k} ${ms(t)}`), `load ${ms(tLoad)}`, formatRunTimes(times)].join(', ')}`);
        Object.assign(report, {
          precision: target.precision(),
          outputs: Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, outputStats(t)])),
          kernels: target.kernels,
          dispatches: target.dispatches,
          timesMs: { ...target.prepTimes, load: tLoad, firstRun: times.firstMs, steady: times.steadyMs },
        });
      } finally {
        await loaded.release();
      }
      if (values['save-outputs'] !== undefined) {
        const paths = await saveOutputs(values['save-outputs'] as string, outputFiles(target.layout, outputs));
        say(`saved ${paths.length} output(s): ${paths.join(', ')}`);
        report.savedOutputs = paths;
      }
      if (values.compare === 'cpu') {
        const graph = await target.reference();
        if (typeof graph === 'string') throw new KilnError(`--compare cpu: ${graph}`);
        // A graph whose sizes vary runs on the CPU at the sizes this run's inputs (and data-dependent ops) give.
        const ref = runOnCpu(graph, referenceInputs(graph, inputs));
        // An artifact's kept IR may not match it (edited, or from another build): say so, by name.
        const unmatched = Object.keys(outputs).filter((name) => !Object.hasOwn(ref, name));
        if (unmatched.length) {
          throw new KilnError(`--compare cpu: the reference graph has no output${unmatched.length > 1 ? 's' : ''} ${unmatched.map((n) => `'${n}'`).join(', ')} (it returns ${Object.keys(ref).map((n) => `'${n}'`).join(', ')}): it is not the graph this program was compiled from`);
        }
        const tol = { ...defaultTolerance(target.precision()), ...tolerance };
        const compared = Object.entries(outputs).map(([name, t]) => compareOutput(name, t, ref[name]!, tol));
        for (const c of compared) say(formatComparison(c, tol));
        const ok = compared.every((c) => c.outside === 0);
        const w = target.written;
        const unchecked = w ? writtenError(w.graph, inputs, outputs) : undefined;
        for (const q of unchecked ?? []) say(`${w!.what}: max abs diff vs ${w!.against} on cpu (${q.name}): ${q.maxAbsDiff.toExponential(3)} (the ${w!.error} error; not checked)`);
        report.compare = { against: 'cpu', ...tol, ok, outputs: compared, ...(unchecked ? { written: { what: w!.what, against: w!.against, outputs: unchecked } } : {}) };
        if (!ok) {
          if (json) console.log(JSON.stringify(report, jsonNumbers, 2));
          const bad = compared.filter((c) => c.outside).map((c) => `'${c.name}' (${c.outside} of ${c.elements} elements)`);
          throw new KilnError(`--compare cpu: ${bad.join(', ')} outside atol ${tol.atol} + rtol ${tol.rtol}`);
        }
      }
    } finally {
      device.destroy();
    }
    if (json) console.log(JSON.stringify(report, jsonNumbers, 2));
    return 0;
  },
};

/** --atol and --rtol, each a non-negative number; they go with --compare. */
function toleranceOptions(values: Record<string, unknown>): Partial<Tolerance> {
  const out: { atol?: number; rtol?: number } = {};
  for (const key of ['atol', 'rtol'] as const) {
    if (values[key] === undefined) continue;
    if (values.compare === undefined) throw new UsageError(`--${key} is the tolerance of --compare cpu; give --compare cpu too`);
    out[key] = nonNegativeOption(values, key, 'a non-negative number (e.g. 1e-4)');
  }
  return out;
}

/** Option `key` as a non-negative number (`what` says so when it is not), or undefined when not given. */
function nonNegativeOption(values: Record<string, unknown>, key: string, what: string): number | undefined {
  if (values[key] === undefined) return undefined;
  const v = Number(values[key]);
  if (!(v >= 0) || String(values[key]).trim() === '') throw new UsageError(`--${key} takes ${what}, got '${String(values[key])}'`);
  return v;
}

/** An output as --json reports it: dtype, shape, and min, max and mean of its values. */
function outputStats(t: TensorData): Record<string, unknown> {
  if (t.dtype === 'string') return { dtype: t.dtype, shape: [...t.shape], first: stringsOf(t).slice(0, 6) };
  const v = numbers(t);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of v) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  return { dtype: t.dtype, shape: [...t.shape], min, max, mean: v.length ? sum / v.length : 0, first: v.slice(0, 6) };
}

/** JSON has no Infinity or NaN: they are written as strings. */
function jsonNumbers(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

/**
 * A model file: loaded for the --input files given (an ONNX model's inputs that decide shapes or
 * parameters are frozen to their files' values), compiled in memory (at the precision asked for),
 * run through a Session.
 */
async function modelTarget(path: string, values: Record<string, unknown>, files: readonly InputArg[], say: (line: string) => void): Promise<RunTarget> {
  if (/\.kiln\/?$/.test(path)) throw new KilnError(`no kiln artifact at ${path} (a folder with manifest.json); make one with kiln compile MODEL -o ${path}`);
  const feeds = Object.fromEntries(files.flatMap((f) => (f.name === undefined ? [] : [[f.name, f.data]])));
  checkOnnxOnlyOptions(path, values);
  const { graph, frozen, layout } = await loadModelForFeeds(path, feeds, { inputShapes: inputShapesFrom(values), itemShapes: itemShapesFrom(values) });
  if (frozen.length) process.stderr.write(`frozen: input${frozen.length === 1 ? '' : 's'} ${frozen.map((n) => `'${n}'`).join(', ')} compiled as constants from ${frozen.length === 1 ? 'its' : 'their'} --input file${frozen.length === 1 ? '' : 's'} (${frozen.length === 1 ? 'it decides' : 'they decide'} shapes or parameters)\n`);
  if (values['print-ir']) say(printGraph(graph).trimEnd());
  const chosen = await resolvePrecision(values, graph);
  const t0 = performance.now();
  // Ops without a WebGPU kernel run on the CPU between GPU segments; most models are one segment.
  const compiled = compileSegmented(graph, { ...compileOptionsFrom(values), ...(await defaultKernelTarget()), precision: chosen.precision, ioPrecision: chosen.io });
  const tCompile = performance.now() - t0;
  const gpuPrograms = compiled.segments.flatMap((s) => (s.device === 'webgpu' ? [s.program] : []));
  const single = compiled.segments.length === 1 ? gpuPrograms[0] : undefined;
  const written = writtenDifference(chosen.precision === 'fp16', values.weights === 'int8' || values.weights === 'int4' ? values.weights : undefined);
  return {
    // The program's, not the graph's: under --io-precision fp16 its float inputs are f16.
    inputs: single?.inputs ?? compiled.graph.inputs.map((v) => ({ name: v.name, dtype: v.type.dtype, shape: v.type.shape })),
    frozen,
    layout,
    kernels: gpuPrograms.reduce((n, p) => n + p.kernels.length, 0),
    dispatches: gpuPrograms.reduce((n, p) => n + p.dispatches.length, 0),
    header: [
      ...(chosen.line ? [`precision: ${chosen.line}`] : []),
      ...(single ? [] : segmentsLine(compiled)),
    ],
    prepTimes: { compile: tCompile },
    precision: () => chosen.precision,
    async load(device, opts) {
      const session = single ? await Session.create(device, single, opts) : await SegmentedSession.create(device, compiled, opts);
      return { run: (inputs) => session.run(inputs), release: async () => session.destroy() };
    },
    // Under fp16 or quantized weights, the optimised graph computes as the kernels do (f16, the dequantized weights).
    reference: async () => (written ? compiled.graph : graph),
    ...(written ? { written: { graph, ...written } } : {}),
  };
}

/** What a program computing in f16, or on int8 or int4 weights, differs from the model as written in, for --compare's report. */
function writtenDifference(fp16: boolean, weights: 'int8' | 'int4' | undefined): { what: string; against: string; error: string } | undefined {
  if (fp16 && weights) return { what: `fp16 and ${weights} weights`, against: 'the f32 model with float weights', error: 'precision and quantization' };
  if (fp16) return { what: 'fp16', against: 'the f32 model', error: 'precision' };
  if (weights) return { what: `${weights} weights`, against: 'the float weights', error: 'quantization' };
  return undefined;
}

/** Each output's max abs difference from the CPU output of `graph` (the model as written). */
function writtenError(graph: Graph, inputs: Record<string, TensorData>, outputs: Record<string, TensorData>): { name: string; maxAbsDiff: number }[] {
  const ref = runOnCpu(graph, referenceInputs(graph, inputs));
  return Object.entries(outputs).filter(([name]) => Object.hasOwn(ref, name)).map(([name, t]) => {
    const { maxAbsDiff } = compareOutput(name, t, ref[name]!, { atol: Infinity, rtol: 0 });
    return { name, maxAbsDiff };
  });
}

/** An artifact folder: validated and loaded with the runtime alone (InferenceSession). */
async function artifactTarget(dir: string, values: Record<string, unknown>): Promise<RunTarget> {
  const compileOnly = ['input-shape', 'print-ir', 'io-precision', ...Object.keys(pipelineArgs)].filter((k) => values[k] !== undefined);
  if (compileOnly.length) {
    throw new UsageError(`${compileOnly.map((k) => `--${k}`).join(', ')} appl${compileOnly.length > 1 ? 'y' : 'ies'} when compiling a MODEL; ${dir} is an artifact, already compiled`);
  }
  const { mode } = precisionFlags(values);
  const t0 = performance.now();
  const artifact = await loadArtifactDir(dir);
  const tValidate = performance.now() - t0;
  const { manifest } = artifact;
  let variant: LoadedVariant | undefined;
  // Counts of the variant the device got (the preferred one until loaded).
  const shown = () => variant ?? artifact.variants[0]!;
  return {
    inputs: manifest.inputs,
    frozen: [],
    layout: manifest.layout ?? tensorLayout(manifest.inputs.map((t) => t.name), manifest.outputs.map((t) => t.name)),
    get kernels() { return programsOf(shown()).reduce((n, p) => n + p.kernels.length, 0); },
    get dispatches() { return programsOf(shown()).reduce((n, p) => n + p.dispatches.length, 0); },
    header: [
      `artifact: ${dir} (model '${manifest.model}', compiled by ${manifest.compiler.name} ${manifest.compiler.version}, pipeline ${manifest.compiler.pipeline})`,
      ...segmentsLine(artifact.variants[0]!.segmented),
    ],
    prepTimes: { 'read and validate': tValidate },
    precision: () => shown().precision,
    async load(device, opts) {
      // auto is the runtime's own choice: the first variant the device can run.
      const session = await InferenceSession.fromArtifact(artifact, { ...opts, device, ...(mode === 'fp32' || mode === 'fp16' ? { precision: mode } : {}) });
      variant = artifact.variants.find((v) => v.index === session.variant)!;
      return { run: (inputs) => session.run(inputs), release: () => session.release(), note: variantNote(artifact, variant, device, mode !== undefined && mode !== 'auto') };
    },
    async reference() {
      const graph = await artifactGraph(dir, shown());
      if (graph) return graph;
      return shown().segmented
        ? `${dir} holds segments placed on several devices, and no one graph of the whole model to run on the CPU; compare by running the model instead (kiln run MODEL --compare cpu)`
        : `${dir} keeps no ir/final.kir to run on the CPU; compare by running the model instead (kiln run MODEL --compare cpu)`;
    },
  };
}

/** A variant's WebGPU programs: its one program, or its WebGPU segments'. */
function programsOf(v: LoadedVariant): Program[] {
  return v.segmented ? v.segmented.segments.flatMap((s) => (s.device === 'webgpu' ? [s.program] : [])) : [v.program];
}

/** `segments: 3 (1 on the CPU), 2 transfers`, for a program placed on several devices. */
function segmentsLine(p: SegmentedProgram | undefined): string[] {
  if (!p) return [];
  return [`segments: ${p.segments.length} (${p.segments.filter((s) => s.device === 'cpu').length} on the CPU), ${p.transfers} transfers`];
}

/** `precision: fp32 (the artifact's fallback: the device lacks shader-f16)`, when the artifact has variants to choose from. */
function variantNote(artifact: LoadedArtifact, v: LoadedVariant, device: GpuDevice, asked: boolean): string | undefined {
  const all = artifact.manifest.variants;
  if (all.length === 1) return undefined;
  if (asked) return `precision: ${v.precision} (asked for; the artifact has ${all.map((x) => x.precision).join(', ')})`;
  if (v.index === 0) return `precision: ${v.precision} (the artifact's first choice; it also has ${all.slice(1).map((x) => x.precision).join(', ')})`;
  const skipped = all.slice(0, v.index).map((x) => `its ${x.precision} variant ${deviceProblems(x, device).join(' and ')}`);
  return `precision: ${v.precision} (the artifact's fallback: ${skipped.join('; ')})`;
}

/** The run's inputs as the reference graph takes them: f16 inputs (under --io-precision fp16) widened for an f32 graph. */
function referenceInputs(graph: Graph, inputs: Record<string, TensorData>): Record<string, TensorData> {
  const out = { ...inputs };
  for (const v of graph.inputs) {
    const t = inputs[v.name];
    if (t?.dtype === 'f16' && v.type.dtype === 'f32') out[v.name] = { dtype: 'f32', shape: [...t.shape], data: fromF16Array(t.data as Uint16Array) };
  }
  return out;
}

function intOption(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got '${String(v)}'`);
  return n;
}
