import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KilnError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { parseGraph } from '../ir/parser.js';
import { Module } from '../frontend/trace/module.js';
import { Tensor } from '../frontend/trace/tensor.js';
import { trace } from '../frontend/trace/trace.js';
import { importOnnxFile } from '../frontend/onnx/file.js';
import { importOnnxFileForFeeds, type FeedsImport } from '../frontend/onnx/feeds.js';
import type { InputValues } from '../frontend/onnx/input-values.js';

export interface LoadOptions {
  /** Shapes of ONNX graph inputs by name (binds symbolic dimensions). */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Values of ONNX graph inputs by name, frozen into the graph as constants. */
  readonly inputValues?: InputValues;
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
  const ext = extname(path).toLowerCase();
  const shapes = opts.inputShapes ?? {};
  if (ext !== '.onnx' && Object.keys(shapes).length) throw new KilnError(`--input-shape applies to ONNX models only; ${path} is not one`);
  if (ext !== '.onnx' && Object.keys(opts.inputValues ?? {}).length) throw new KilnError(`--input-value applies to ONNX models only; ${path} is not one`);
  if (ext === '.onnx') return importOnnxFile(path, { inputShapes: shapes, inputValues: opts.inputValues ?? {} });
  if (ext === '.kir') return parseGraph(await readFile(path, 'utf8'));
  if (ext === '.js' || ext === '.mjs' || ext === '.ts' || ext === '.mts') {
    const url = pathToFileURL(resolve(path)).href;
    const mod = (ext.endsWith('ts') ? await importTypeScript(url) : await import(url)) as ModelModule;
    const src = mod.model !== undefined ? mod : mod.default ?? {};
    const { model, exampleInputs } = src;
    if (!(model instanceof Module)) throw new KilnError(`${path} must export 'model', an nn.Module`);
    if (!Array.isArray(exampleInputs) || !exampleInputs.every((t) => t instanceof Tensor)) {
      throw new KilnError(`${path} must export 'exampleInputs', an array of Tensors shaped like the model's inputs`);
    }
    return trace(model, exampleInputs);
  }
  throw new KilnError(`${path}: unknown model format '${ext}' (expected .onnx, .kir, .js or .ts)`);
}

/**
 * Loads a model to run on these feeds: an ONNX model's inputs that decide shapes or parameters
 * are frozen to their feeds (`frozen` lists them; they are no longer inputs of the graph).
 * Other formats load as loadModel does, freezing nothing.
 */
export async function loadModelForFeeds(path: string, feeds: InputValues, opts: LoadOptions = {}): Promise<FeedsImport> {
  if (extname(path).toLowerCase() !== '.onnx') return { graph: await loadModel(path, opts), frozen: [] };
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
