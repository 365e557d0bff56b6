import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KilnError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { parseGraph } from '../ir/parser.js';
import { Module } from './torch/module.js';
import { Tensor } from './torch/tensor.js';
import { trace } from './trace/trace.js';
import type { InputShapes } from './onnx/inputs.js';
import { importOnnxFileWithLayout } from './onnx/file.js';
import { importOnnxFileForFeeds, type Feeds, type FeedsImport } from './onnx/feeds.js';
import type { ItemShapes } from './onnx/container-io.js';
import { tensorLayout, type IoLayout } from '../runtime/io-layout.js';
import type { InputValues } from './onnx/input-values.js';

export interface LoadOptions {
  /** Shapes of ONNX graph inputs by name (binds symbolic dimensions). */
  readonly inputShapes?: InputShapes;
  /** Values of ONNX graph inputs by name, frozen into the graph as constants. */
  readonly inputValues?: InputValues;
  /** Item shapes of ONNX sequence inputs, and presence of optional ones (null: absent). */
  readonly itemShapes?: ItemShapes;
}

/** What a JavaScript model module exports: a model and example inputs to trace it with. */
interface ModelModule {
  model?: unknown;
  exampleInputs?: unknown;
  default?: { model?: unknown; exampleInputs?: unknown };
}

/**
 * Loads a model file as a Graph: kiln IR text (.kir), an ONNX model (.onnx), or a JavaScript or
 * TypeScript module exporting `model` (an nn.Module) and `exampleInputs` (Tensors), which is
 * traced. TypeScript is loaded through tsx (esbuild), so a model file runs as written.
 */
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<Graph> {
  return (await loadModelWithLayout(path, opts)).graph;
}

/** The layout of a graph whose inputs and outputs are all plain tensors. */
function plainLayout(graph: Graph): IoLayout {
  return tensorLayout(graph.inputs.map((v) => v.name), graph.outputs.map((v) => v.name));
}

/**
 * loadModel, with the layout of the model's inputs and outputs: an ONNX model's sequences and
 * optionals are their item tensors in the graph (other formats have tensors only).
 */
export async function loadModelWithLayout(path: string, opts: LoadOptions = {}): Promise<{ graph: Graph; layout: IoLayout }> {
  const ext = extname(path).toLowerCase();
  const shapes = opts.inputShapes ?? {};
  if (ext !== '.onnx' && Object.keys(shapes).length) throw new KilnError(`input shapes apply to ONNX models only; ${path} is not one`);
  if (ext !== '.onnx' && Object.keys(opts.inputValues ?? {}).length) throw new KilnError(`input values apply to ONNX models only; ${path} is not one`);
  const kind = MODEL_KINDS[ext];
  if (!kind) throw new KilnError(`${path}: unknown model format '${ext}' (expected .onnx, .kir, .js or .ts)`);
  await checkReadable(path, kind);
  if (ext !== '.onnx' && Object.keys(opts.itemShapes ?? {}).length) throw new KilnError(`sequence and optional inputs belong to ONNX models only; ${path} is not one`);
  if (ext === '.onnx') return importOnnxFileWithLayout(path, { inputShapes: shapes, inputValues: opts.inputValues ?? {}, itemShapes: opts.itemShapes ?? {} });
  if (ext === '.kir') {
    const graph = parseGraph(await readFile(path, 'utf8'));
    return { graph, layout: plainLayout(graph) };
  }
  const url = pathToFileURL(resolve(path)).href;
  let mod: ModelModule;
  try {
    mod = (ext.endsWith('ts') ? await importTypeScript(url) : await import(url)) as ModelModule;
  } catch (e) {
    const report = e instanceof SyntaxError && !ext.endsWith('ts') ? syntaxErrorReport(path) : undefined;
    throw new KilnError(`cannot load ${kind} '${path}': ${report ?? moduleErrorText(e)}`);
  }
  const src = mod.model !== undefined ? mod : mod.default ?? {};
  const { model, exampleInputs } = src;
  if (!(model instanceof Module)) throw new KilnError(`${path} must export 'model', an nn.Module`);
  if (!Array.isArray(exampleInputs) || !exampleInputs.every((t) => t instanceof Tensor)) {
    throw new KilnError(`${path} must export 'exampleInputs', an array of Tensors shaped like the model's inputs`);
  }
  try {
    const graph = trace(model, exampleInputs);
    return { graph, layout: plainLayout(graph) };
  } catch (e) {
    // Point at the line of the model's source that made the failing call.
    const at = e instanceof KilnError ? sourceLine(e, path) : undefined;
    if (at) (e as KilnError).message = `${(e as KilnError).message}\n  at ${at}`;
    throw e;
  }
}

/** What each file extension holds, as error messages name it. */
const MODEL_KINDS: Readonly<Record<string, string>> = {
  '.onnx': 'ONNX model', '.kir': 'kiln IR file', '.js': 'JavaScript model module', '.mjs': 'JavaScript model module',
  '.ts': 'TypeScript model module', '.mts': 'TypeScript model module',
};

async function checkReadable(path: string, kind: string): Promise<void> {
  try {
    if (!(await stat(path)).isFile()) throw new KilnError(`${kind} '${path}' is not a file`);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new KilnError(`cannot read ${kind} '${path}': ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** A module's load error in a few lines: esbuild's located message, or Node's first line. */
function moduleErrorText(e: unknown): string {
  const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number; lineText: string } }[] }).errors;
  if (Array.isArray(errors) && errors.length) {
    return errors.slice(0, 3).map((x) => (x.location ? `${x.location.file}:${x.location.line}:${x.location.column + 1}: ${x.text}\n    ${x.location.lineText}` : x.text)).join('\n');
  }
  const lines = (e instanceof Error ? e.message : String(e)).split('\n').filter((l) => l.trim());
  return lines.slice(0, 3).join('\n');
}

/** Node's own report of a syntax error in a plain .js module (its import error has no location). */
function syntaxErrorReport(path: string): string | undefined {
  const r = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8' });
  const lines = r.stderr.split('\n');
  const at = lines.findIndex((l) => /^SyntaxError/.test(l));
  return at > 0 ? [...lines.slice(0, Math.min(at, 3)).filter((l) => l.trim()), lines[at]].join('\n') : undefined;
}

/** `file:line:col` of the innermost stack frame inside the model's file, if any. */
function sourceLine(e: Error, path: string): string | undefined {
  const file = resolve(path);
  for (const line of (e.stack ?? '').split('\n')) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (m && (m[1] === file || m[1] === pathToFileURL(file).href)) return `${path}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/**
 * Loads a model to run on these feeds: an ONNX model's inputs that decide shapes or parameters
 * are frozen to their feeds (`frozen` lists them; they are no longer inputs of the graph).
 * Other formats load as loadModel does, freezing nothing.
 */
export async function loadModelForFeeds(path: string, feeds: Feeds, opts: LoadOptions = {}): Promise<FeedsImport> {
  if (extname(path).toLowerCase() !== '.onnx') {
    const { graph, layout } = await loadModelWithLayout(path, opts);
    return { graph, frozen: [], layout };
  }
  await checkReadable(path, MODEL_KINDS['.onnx']!);
  return importOnnxFileForFeeds(path, feeds, opts);
}

/**
 * Imports a TypeScript module with tsx's loader registered for this process (not tsImport, whose
 * isolated namespace would give the model its own copy of kiln): its `import ... from 'kiln'`
 * then resolves to this same kiln, so the model's classes are the ones `trace` knows.
 */
async function importTypeScript(url: string): Promise<unknown> {
  const { register } = await import('tsx/esm/api');
  register();
  return import(url);
}
