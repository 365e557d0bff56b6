// How a model's inputs and outputs map to the tensors its compiled program takes and returns. A
// program only ever moves tensors; an ONNX model may also take or return sequences (lists of
// tensors) and optionals (a tensor or a sequence, or nothing). Their length and presence are fixed
// when the model is compiled, so each becomes its item tensors in the program, and this layout
// says how to flatten structured feeds into program inputs and reassemble program outputs.
import { KilnError } from '../ir/errors.js';

/** One model input or output and the program tensors it is made of. */
export interface IoEntry {
  /** The name the model gives it. */
  readonly name: string;
  readonly kind: 'tensor' | 'sequence' | 'optional';
  /** The program's tensors, in order: one for a tensor, one per item for a sequence. */
  readonly items: readonly string[];
  /** What an optional holds: a tensor, a sequence (of `items`), or nothing ('none'). */
  readonly holds?: 'tensor' | 'sequence' | 'none';
}

/** A model's inputs and outputs, in order. */
export interface IoLayout {
  readonly inputs: readonly IoEntry[];
  readonly outputs: readonly IoEntry[];
}

/** A structured value: a tensor, a sequence of tensors, or an absent optional (null). */
export type IoValue<T> = T | readonly T[] | null;

/** The layout of a program that takes and returns plain tensors, by their names. */
export function tensorLayout(inputs: readonly string[], outputs: readonly string[]): IoLayout {
  const plain = (name: string): IoEntry => ({ name, kind: 'tensor', items: [name] });
  return { inputs: inputs.map(plain), outputs: outputs.map(plain) };
}

/** Whether every entry is a tensor under its own name (nothing to flatten or reassemble). */
export function isPlainLayout(layout: IoLayout): boolean {
  return [...layout.inputs, ...layout.outputs].every((e) => e.kind === 'tensor' && e.items.length === 1 && e.items[0] === e.name);
}

/** Whether an entry stands for a list of tensors (a sequence, or an optional holding one). */
export function isSequenceEntry(e: IoEntry): boolean {
  return e.kind === 'sequence' || e.holds === 'sequence';
}

/** The structured value of one entry from the program's tensors by name. */
export function assembleEntry<T>(e: IoEntry, tensors: Readonly<Record<string, T>>): IoValue<T> {
  const item = (name: string): T => {
    if (!Object.hasOwn(tensors, name)) throw new KilnError(`the program returned no '${name}' (part of '${e.name}')`);
    return tensors[name]!;
  };
  if (e.kind === 'optional' && e.holds === 'none') return null;
  return isSequenceEntry(e) ? e.items.map(item) : item(e.items[0]!);
}

/** The model's outputs, by name, reassembled from the program's output tensors. */
export function assembleOutputs<T>(entries: readonly IoEntry[], tensors: Readonly<Record<string, T>>): Record<string, IoValue<T>> {
  return Object.fromEntries(entries.map((e) => [e.name, assembleEntry(e, tensors)]));
}

/**
 * The program's input tensors from structured feeds by model input name: a sequence gives its
 * items, in order, and must have the length compiled; an optional must be present or absent as
 * compiled. Names not in the layout pass through (the program checks them).
 */
export function flattenInputs<T>(entries: readonly IoEntry[], feeds: Readonly<Record<string, IoValue<T>>>): Record<string, T> {
  const out: Record<string, T> = {};
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const [name, v] of Object.entries(feeds)) {
    const e = byName.get(name);
    if (!e || (e.kind === 'tensor' && e.items[0] === name && !Array.isArray(v))) {
      if (v === null || Array.isArray(v)) throw new KilnError(`input '${name}' is a tensor, but ${v === null ? 'none' : 'a sequence'} was given`);
      out[name] = v as T;
      continue;
    }
    const absent = e.kind === 'optional' && e.holds === 'none';
    if (absent !== (v === null)) {
      throw new KilnError(absent ? `input '${name}' was compiled as an absent optional, but a value was given` : `input '${name}' was compiled present, but none was given`);
    }
    if (absent) continue;
    if (isSequenceEntry(e) !== Array.isArray(v)) throw new KilnError(`input '${name}' is ${isSequenceEntry(e) ? 'a sequence' : 'a tensor'}, but ${Array.isArray(v) ? 'a sequence' : 'a tensor'} was given`);
    const items = Array.isArray(v) ? (v as readonly T[]) : [v as T];
    if (items.length !== e.items.length) throw new KilnError(`input '${name}' was compiled as a sequence of ${e.items.length} tensors, but ${items.length} were given`);
    e.items.forEach((item, k) => { out[item] = items[k]!; });
  }
  return out;
}

const KINDS: ReadonlySet<string> = new Set(['tensor', 'sequence', 'optional']);
const HOLDS: ReadonlySet<string> = new Set(['tensor', 'sequence', 'none']);

/**
 * A layout read from JSON (an artifact's manifest), checked field by field and against the
 * program's tensors: each input and output of the program is an item of exactly one entry.
 * `fail` raises the reader's error with the message.
 */
export function parseIoLayout(raw: unknown, path: string, program: Record<'inputs' | 'outputs', readonly { name: string }[]>, fail: (msg: string) => never): IoLayout {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(raw)) fail(`${path} must be an object`);
  const layout = raw as Record<string, unknown>;
  const entries = (kind: 'inputs' | 'outputs'): IoEntry[] => {
    const list = layout[kind];
    if (!Array.isArray(list)) fail(`${path}.${kind} must be an array`);
    const out = (list as unknown[]).map((x, i): IoEntry => {
      const at = `${path}.${kind}[${i}]`;
      if (!isObj(x)) fail(`${at} must be an object`);
      const e = x as Record<string, unknown>;
      const unknown = Object.keys(e).filter((k) => !['name', 'kind', 'items', 'holds'].includes(k));
      if (unknown.length) fail(`${at} has field(s) ${unknown.join(', ')} this runtime does not know`);
      if (typeof e.name !== 'string') fail(`${at}.name must be a string`);
      if (typeof e.kind !== 'string' || !KINDS.has(e.kind)) fail(`${at}.kind must be 'tensor', 'sequence' or 'optional'`);
      if (!Array.isArray(e.items) || !e.items.every((s) => typeof s === 'string')) fail(`${at}.items must be an array of strings`);
      const optional = e.kind === 'optional';
      if (optional !== (e.holds !== undefined) || (optional && !HOLDS.has(e.holds as string))) fail(`${at}.holds must be 'tensor', 'sequence' or 'none' for an optional, and absent otherwise`);
      const count = (e.items as string[]).length;
      const tensorLike = e.kind === 'tensor' || e.holds === 'tensor';
      if ((tensorLike && count !== 1) || (e.holds === 'none' && count !== 0)) fail(`${at} has ${count} items, which its kind does not allow`);
      return { name: e.name as string, kind: e.kind as IoEntry['kind'], items: [...(e.items as string[])], ...(optional ? { holds: e.holds as IoEntry['holds'] } : {}) };
    });
    const items = out.flatMap((e) => e.items);
    const want = program[kind].map((t) => t.name);
    if (items.length !== want.length || !want.every((n) => items.includes(n))) fail(`${path}.${kind} does not name the program's ${kind} (${want.join(', ')}) each once`);
    return out;
  };
  return { inputs: entries('inputs'), outputs: entries('outputs') };
}
