import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KilnError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import { externalDataFromDir } from './file.js';
import { importModelWithLayout, type OnnxImportOptions } from './import.js';
import type { IoLayout, IoValue } from '../../runtime/io-layout.js';
import { isContainerType, type ItemShapes } from './container-io.js';
import { declaredRank, givenShape, InputValuesNeededError, type InputValue } from './input-values.js';
import { decodeModel, type ModelProtoObject } from './proto.js';

/** A model imported to run on given feeds. */
export interface FeedsImport {
  readonly graph: Graph;
  /**
   * Inputs whose values decide shapes or parameters, frozen to their feeds: constants of the
   * graph, no longer its inputs (a runner must not feed them). In the order they were needed.
   */
  readonly frozen: readonly string[];
  /** How the model's inputs and outputs (sequences and optionals among them) map to the graph's tensors. */
  readonly layout: IoLayout;
}

/**
 * A feed by model input name: a tensor's value, a sequence input's items (an array of values),
 * or null for an optional input given no value.
 */
export type Feeds = Readonly<Record<string, IoValue<InputValue>>>;

/**
 * Imports an ONNX model for running it on these feeds (input values by name; a sequence input's
 * items fix its length and item shapes, an optional input's value or null its presence): inputs whose values
 * the model needs at import (Reduce axes, Resize scales, Slice starts, ...) are frozen to their
 * feeds, the others stay graph inputs, shaped like their feeds unless `opts.inputShapes` says
 * otherwise. Fails with the InputValuesNeededError when a needed input has no feed.
 */
export function importModelForFeeds(model: ModelProtoObject, structured: Feeds, opts: OnnxImportOptions = {}): FeedsImport {
  const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const declared = new Map((model.graph?.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => [v.name ?? '', v]));
  const unknown = Object.keys(structured).filter((n) => !declared.has(n));
  if (unknown.length) {
    throw new KilnError(`feeds were given for ${unknown.map((n) => `'${n}'`).join(', ')}, but the model's inputs are ${[...declared.keys()].map((n) => `'${n}'`).join(', ') || 'none'}`);
  }
  // Sequences and optionals fix their items' shapes; tensors are fed (and may be frozen) as before.
  const itemShapes: Record<string, ItemShapes[string]> = {};
  const feeds: Record<string, InputValue> = {};
  for (const [name, v] of Object.entries(structured)) {
    const type = declared.get(name)!.type;
    if (!isContainerType(type)) {
      if (v === null) throw new KilnError(`input '${name}' is a tensor, but no value was given for it`);
      feeds[name] = v as InputValue;
      continue;
    }
    const element = type?.optional_type?.elem_type ?? type;
    const itemRank = declaredRank({ type: element?.sequence_type?.elem_type ?? element });
    const isSequence = element?.sequence_type !== undefined;
    if (v !== null && isSequence !== isSequenceFeed(v)) throw new KilnError(`input '${name}' is ${isSequence ? 'a sequence: give a list of tensors' : 'an optional tensor: give one tensor'}`);
    const items = v === null ? null : isSequence ? (v as readonly InputValue[]) : [v as InputValue];
    itemShapes[name] = items && items.map((x) => givenShape(x, itemRank));
  }
  const shapes = Object.entries(feeds).map(([name, v]) => [name, givenShape(v, declaredRank(declared.get(name)!))]);
  const inputShapes = { ...Object.fromEntries(shapes), ...opts.inputShapes };
  const frozen: Record<string, InputValue> = { ...opts.inputValues };
  const order: string[] = [];
  // Each attempt freezes the inputs the last one found needed (those behind them are found next).
  for (;;) {
    try {
      const { graph, layout } = importModelWithLayout(model, { ...opts, inputShapes, inputValues: frozen, itemShapes: { ...itemShapes, ...opts.itemShapes } });
      return { graph, frozen: order, layout };
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
export async function importOnnxFileForFeeds(path: string, feeds: Feeds, opts: OnnxImportOptions = {}): Promise<FeedsImport> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new KilnError(`cannot read ONNX model '${path}': ${(e as Error).message}`);
  }
  return importModelForFeeds(decodeModel(bytes), feeds, { ...opts, readExternalData: opts.readExternalData ?? externalDataFromDir(dirname(path)) });
}

/** Whether a feed is a list of tensors (a sequence) rather than one tensor's value. */
function isSequenceFeed(v: IoValue<InputValue>): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null);
}
