import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KilnError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import { externalDataFromDir } from './file.js';
import { importModel, type OnnxImportOptions } from './import.js';
import { declaredRank, givenShape, InputValuesNeededError, type InputValue, type InputValues } from './input-values.js';
import { decodeModel, type ModelProtoObject } from './proto.js';

/** A model imported to run on given feeds. */
export interface FeedsImport {
  readonly graph: Graph;
  /**
   * Inputs whose values decide shapes or parameters, frozen to their feeds: constants of the
   * graph, no longer its inputs (a runner must not feed them). In the order they were needed.
   */
  readonly frozen: readonly string[];
}

/**
 * Imports an ONNX model for running it on these feeds (input values by name): inputs whose values
 * the model needs at import (Reduce axes, Resize scales, Slice starts, ...) are frozen to their
 * feeds, the others stay graph inputs, shaped like their feeds unless `opts.inputShapes` says
 * otherwise. Fails with the InputValuesNeededError when a needed input has no feed.
 */
export function importModelForFeeds(model: ModelProtoObject, feeds: InputValues, opts: OnnxImportOptions = {}): FeedsImport {
  const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const declared = new Map((model.graph?.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => [v.name ?? '', v]));
  const unknown = Object.keys(feeds).filter((n) => !declared.has(n));
  if (unknown.length) {
    throw new KilnError(`feeds were given for ${unknown.map((n) => `'${n}'`).join(', ')}, but the model's inputs are ${[...declared.keys()].map((n) => `'${n}'`).join(', ') || 'none'}`);
  }
  const shapes = Object.entries(feeds).map(([name, v]) => [name, givenShape(v, declaredRank(declared.get(name)!))]);
  const inputShapes = { ...Object.fromEntries(shapes), ...opts.inputShapes };
  const frozen: Record<string, InputValue> = { ...opts.inputValues };
  const order: string[] = [];
  // Each attempt freezes the inputs the last one found needed (those behind them are found next).
  for (;;) {
    try {
      const graph = importModel(model, { ...opts, inputShapes, inputValues: frozen });
      return { graph, frozen: order };
    } catch (e) {
      if (!(e instanceof InputValuesNeededError)) throw e;
      const fresh = e.inputs.filter((n) => !(n in frozen));
      const unfed = fresh.filter((n) => !(n in feeds));
      if (fresh.length === 0 || unfed.length) throw e;
      for (const n of fresh) frozen[n] = feeds[n]!;
      order.push(...fresh);
    }
  }
}

/** importModelForFeeds on an .onnx file, reading any external data files beside it. */
export async function importOnnxFileForFeeds(path: string, feeds: InputValues, opts: OnnxImportOptions = {}): Promise<FeedsImport> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new KilnError(`cannot read ONNX model '${path}': ${(e as Error).message}`);
  }
  return importModelForFeeds(decodeModel(bytes), feeds, { ...opts, readExternalData: opts.readExternalData ?? externalDataFromDir(dirname(path)) });
}
