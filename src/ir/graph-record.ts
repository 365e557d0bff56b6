// A Graph as plain JSON data (a GraphRecord) and back, with its constants' contents kept apart as
// a list of tensors. Artifacts store the graphs the CPU runs this way: the runtime rebuilds them
// without the IR text parser, which it must not load (chevrotain; see the runtime-only entry).
// The record is exact where text need not be: every value keeps its name, type and device, and
// numbers that JSON cannot hold (NaN, infinities, -0) are written as strings.
import { isGraphAttr, type Attrs, type AttrValue } from './attrs.js';
import { KilnError } from './errors.js';
import { Graph } from './graph.js';
import { dimText, parseDim, sizeVarsOf, type SizeVar } from './size-expr.js';
import { isTensorData, type TensorData } from './tensor-data.js';
import { dimsOf, isDevice, isDType, type Device, type DType, type TensorType } from './types.js';

/** A number as JSON holds it: finite numbers as themselves, others as 'NaN', 'Infinity', '-Infinity', '-0'. */
export type NumberRecord = number | string;

export interface TypeRecord {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly device: Device;
  /** Extents as size expressions (text), when some vary from run to run. */
  readonly dims?: readonly NumberRecord[];
}

/** One attribute, tagged by kind: a number, string, flag, number list, tensor (its index in the tensor list) or graph. */
export type AttrRecord =
  | { readonly n: NumberRecord } | { readonly s: string } | { readonly b: boolean }
  | { readonly ns: readonly NumberRecord[] } | { readonly t: number } | { readonly g: GraphRecord };

export interface NodeRecord {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly { readonly name: string; readonly type: TypeRecord }[];
  readonly attrs: Readonly<Record<string, AttrRecord>>;
}

export interface GraphRecord {
  readonly name: string;
  /** The size variables the graph's types use, with their ranges. */
  readonly sizes?: readonly SizeVar[];
  readonly inputs: readonly { readonly name: string; readonly type: TypeRecord }[];
  readonly nodes: readonly NodeRecord[];
  readonly outputs: readonly string[];
}

/** A graph as a record, and the tensors its record's `{ t: k }` attributes index. */
export function graphToRecord(g: Graph): { record: GraphRecord; tensors: TensorData[] } {
  const tensors: TensorData[] = [];
  return { record: toRecord(g, tensors), tensors };
}

function toRecord(g: Graph, tensors: TensorData[]): GraphRecord {
  const sizes = [...sizeVarsOf(g.values().flatMap((v) => dimsOf(v.type))).values()].map(({ name, min, max }) => ({ name, min, max }));
  const value = (v: { name: string; type: TensorType }) => ({ name: v.name, type: typeRecord(v.type) });
  return {
    name: g.name,
    ...(sizes.length ? { sizes } : {}),
    inputs: g.inputs.map(value),
    nodes: g.nodes.map((n) => ({
      op: n.op,
      inputs: n.inputs.map((v) => v.name),
      outputs: n.outputs.map(value),
      attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, a]) => [k, attrRecord(a, tensors)])),
    })),
    outputs: g.outputs.map((v) => v.name),
  };
}

function typeRecord(t: TensorType): TypeRecord {
  return { dtype: t.dtype, shape: [...t.shape], device: t.device, ...(t.dims ? { dims: t.dims.map((d) => (typeof d === 'number' ? d : dimText(d))) } : {}) };
}

function attrRecord(a: AttrValue, tensors: TensorData[]): AttrRecord {
  if (typeof a === 'number') return { n: numberRecord(a) };
  if (typeof a === 'string') return { s: a };
  if (typeof a === 'boolean') return { b: a };
  if (Array.isArray(a)) return { ns: a.map(numberRecord) };
  if (isTensorData(a)) {
    // A tensor shared by several attributes is stored once.
    const k = tensors.indexOf(a);
    return { t: k >= 0 ? k : tensors.push(a) - 1 };
  }
  if (isGraphAttr(a)) return { g: toRecord(a, tensors) };
  throw new KilnError(`internal: attribute value ${String(a)} has no record form`);
}

function numberRecord(x: number): NumberRecord {
  return Number.isFinite(x) && !Object.is(x, -0) ? x : Object.is(x, -0) ? '-0' : String(x);
}

function numberOf(x: NumberRecord, what: string): number {
  if (typeof x === 'number') return x;
  const special: Record<string, number> = { NaN, Infinity, '-Infinity': -Infinity, '-0': -0 };
  if (!Object.hasOwn(special, x)) throw new KilnError(`${what}: '${x}' is not a number`);
  return special[x]!;
}

/**
 * Rebuilds the graph a record describes, `tensors` giving the contents its tensor attributes
 * index. Every node is added through Graph.addNode, so its types are inferred again and checked
 * against the record's: a record that does not describe a valid graph is refused, naming the node.
 */
export function graphFromRecord(record: GraphRecord, tensors: readonly TensorData[]): Graph {
  const vars = new Map((record.sizes ?? []).map((v) => [v.name, v]));
  const g = new Graph(record.name);
  const type = (t: TypeRecord, what: string): TensorType => {
    if (!isDType(t.dtype)) throw new KilnError(`${what}: '${String(t.dtype)}' is not a dtype`);
    if (!isDevice(t.device)) throw new KilnError(`${what}: '${String(t.device)}' is not a device`);
    return { dtype: t.dtype, shape: [...t.shape], device: t.device, ...(t.dims ? { dims: t.dims.map((d) => (typeof d === 'number' ? d : parseDim(d, vars))) } : {}) };
  };
  const values = new Map<string, Graph['inputs'][number]>();
  const lookup = (name: string, what: string) => {
    const v = values.get(name);
    if (!v) throw new KilnError(`${what}: value %${name} is not defined before it is read`);
    return v;
  };
  for (const i of record.inputs) values.set(i.name, g.addInput(i.name, type(i.type, `graph ${record.name} input %${i.name}`)));
  for (const [k, n] of record.nodes.entries()) {
    const what = `graph ${record.name} node #${k} (${n.op})`;
    const attrs: Record<string, AttrValue> = {};
    for (const [key, a] of Object.entries(n.attrs)) attrs[key] = attrValue(a, tensors, `${what} attribute '${key}'`);
    const types = n.outputs.map((o) => type(o.type, what));
    const node = g.addNode(n.op, n.inputs.map((name) => lookup(name, what)), attrs as Attrs, {
      types, names: n.outputs.map((o) => o.name), ...(types[0] ? { device: types[0].device } : {}),
    });
    for (const o of node.outputs) values.set(o.name, o);
  }
  g.setOutputs(record.outputs.map((name) => lookup(name, `graph ${record.name} outputs`)));
  return g;
}

function attrValue(a: AttrRecord, tensors: readonly TensorData[], what: string): AttrValue {
  if ('n' in a) return numberOf(a.n, what);
  if ('s' in a) return a.s;
  if ('b' in a) return a.b;
  if ('ns' in a) return a.ns.map((x) => numberOf(x, what));
  if ('t' in a) {
    const t = tensors[a.t];
    if (!t) throw new KilnError(`${what}: tensor #${a.t} is missing`);
    return t;
  }
  if ('g' in a) return graphFromRecord(a.g, tensors);
  throw new KilnError(`${what}: unknown attribute form ${JSON.stringify(a)}`);
}
