// Sequences and optionals at the edges of the graph. kiln compiles static shapes, so a sequence
// input's length and item shapes and an optional input's presence are fixed when the model is
// imported (`itemShapes`, from the feeds or the command line): each item becomes a graph input of
// its own. A sequence or optional output is known once the graph is built: its items become
// program outputs. Either way the IoLayout entry records which program tensors make the value.
import { KilnError } from '../../ir/errors.js';
import type { Graph, Value } from '../../ir/graph.js';
import type { IoEntry } from '../../runtime/io-layout.js';
import type { ImportValue, Operand, OptionalOperand, SequenceOperand } from './builder.js';
import { resolveInputs, type InputShapes } from './inputs.js';
import type { TypeProtoObject, ValueInfoObject } from './proto.js';
import { kilnDType, UnsupportedOnnxError } from './tensor.js';

/**
 * The shapes of the items of sequence and optional graph inputs, by input name: one shape per
 * item of a sequence (an optional tensor: its one shape), or null for an optional given no value.
 */
export type ItemShapes = Readonly<Record<string, readonly (readonly number[])[] | null>>;

/** Whether a graph input or output is declared a sequence or an optional rather than a tensor. */
export function isContainerType(t: TypeProtoObject | undefined): boolean {
  return t?.sequence_type !== undefined || t?.optional_type !== undefined;
}

/** A name for the k-th item of `base` that no ONNX tensor and no graph value has. */
export function itemName(base: string, k: number, taken: (name: string) => boolean): string {
  let name = `${base}_${k}`;
  while (taken(name)) name += '_';
  return name;
}

/** What binding a sequence or optional input gives: the import-time value, and its layout entry. */
export interface BoundContainer {
  readonly value: ImportValue;
  readonly entry: IoEntry;
}

/**
 * Binds a sequence or optional graph input to its items as graph inputs, shaped by `shapes`
 * (checked against the element type the model declares). Without shapes it is refused, naming
 * the input and how to give them.
 */
export function bindContainerInput(graph: Graph, v: ValueInfoObject, shapes: ItemShapes, taken: (name: string) => boolean): BoundContainer {
  const name = v.name ?? '';
  const t = v.type!;
  const isOptional = t.optional_type !== undefined;
  const inner = isOptional ? t.optional_type!.elem_type : t;
  if (!Object.hasOwn(shapes, name)) {
    const how = isOptional
      ? `give its shape (kiln run: --input ${name}=FILE.npy; kiln compile: --input-shape ${name}=D0,D1,...) or say it is absent (--input-shape ${name}=none)`
      : `give the shapes of its items (kiln run: --input ${name}=A.npy,B.npy,...; kiln compile: --input-shape '${name}=[D0,D1];[D0,D1]')`;
    throw new UnsupportedOnnxError(`graph input '${name}' is ${isOptional ? 'an optional' : 'a sequence'}, whose ${isOptional ? 'presence' : 'length and item shapes'} kiln fixes when it compiles: ${how}`);
  }
  const given = shapes[name];
  if (given === null) {
    if (!isOptional) throw new UnsupportedOnnxError(`graph input '${name}' is a sequence; it cannot be absent (only an optional can)`);
    return { value: { kind: 'optional', value: undefined }, entry: { name, kind: 'optional', items: [], holds: 'none' } };
  }
  const isSequence = inner?.sequence_type !== undefined;
  const element = isSequence ? inner!.sequence_type!.elem_type : inner;
  if (!element?.tensor_type) throw new UnsupportedOnnxError(`graph input '${name}' holds ${isSequence ? 'sequences of ' : ''}values that are not tensors (maps and nested sequences are not supported)`);
  if (!isSequence && given!.length !== 1) throw new UnsupportedOnnxError(`graph input '${name}' is an optional tensor, but ${given!.length} shapes were given for it`);
  const names = given!.map((_, k) => (isSequence ? itemName(name, k, taken) : name));
  const specs = resolveInputs(names.map((n) => ({ name: n, type: element })), Object.fromEntries(names.map((n, k) => [n, given![k]!])));
  const items: Value[] = specs.map((s) => graph.addInput(s.name, { dtype: s.dtype, shape: s.shape, device: 'webgpu' }));
  const sequence: SequenceOperand = { kind: 'sequence', items, dtype: kilnDType(element.tensor_type.elem_type ?? 0, `graph input '${name}'`) };
  const held: Operand | SequenceOperand = isSequence ? sequence : items[0]!;
  const value: ImportValue = isOptional ? ({ kind: 'optional', value: held } satisfies OptionalOperand) : held;
  const kind = isOptional ? 'optional' : 'sequence';
  return { value, entry: { name, kind, items: names, ...(isOptional ? { holds: isSequence ? 'sequence' : 'tensor' } : {}) } };
}

/**
 * Input shapes split by the kind of input they bind: a tensor's go on to resolveInputs; an
 * optional tensor's shape is the shape of its one item (it is present). A sequence takes its
 * items' shapes only through `itemShapes`.
 */
export function splitShapes(inputs: readonly ValueInfoObject[], shapes: InputShapes, itemShapes: ItemShapes): { tensorShapes: InputShapes; itemShapes: ItemShapes } {
  const containers = new Map(inputs.filter((v) => isContainerType(v.type)).map((v) => [v.name ?? '', v.type!]));
  const tensorShapes: Record<string, InputShapes[string]> = {};
  const items: Record<string, ItemShapes[string]> = { ...itemShapes };
  const stray = Object.keys(itemShapes).filter((name) => !containers.has(name));
  if (stray.length) throw new KilnError(`item shapes were given for ${stray.map((n) => `'${n}'`).join(', ')}, which ${stray.length === 1 ? 'is not a sequence or optional input' : 'are not sequence or optional inputs'} of the model`);
  for (const [name, shape] of Object.entries(shapes)) {
    const type = containers.get(name);
    if (!type) tensorShapes[name] = shape;
    else if (type.optional_type?.elem_type?.tensor_type && !(name in items)) {
      if (shape.some((d) => typeof d !== 'number')) throw new UnsupportedOnnxError(`graph input '${name}' is an optional tensor; its extents must be fixed numbers`);
      items[name] = [shape as number[]];
    } else throw new UnsupportedOnnxError(`graph input '${name}' is ${type.sequence_type ? 'a sequence' : 'an optional sequence'}: give its items' shapes (--input-shape '${name}=[D0,D1];[D0,D1]')`);
  }
  return { tensorShapes, itemShapes: items };
}
