import { KilnError } from '../../ir/errors.js';
import { Graph, type Value } from '../../ir/graph.js';
import { OnnxAttrs } from './attributes.js';
import { isConst, isContainer, OnnxBuilder, typeOf, type ImportValue, type Operand } from './builder.js';
import { resolveInputs, type InputShapes } from './inputs.js';
import { OnnxNode, onnxMapper, type ClosedSubgraph, type ParamType } from './node.js';
import { checkOutputsDefined, checkSupported, defaultOpset, mapperKey, tensorNames } from './model-checks.js';
import { nodeLabel, orderNodes } from './order.js';
import { allNodes, functionProto, nodeReads, outerNames } from './subgraphs.js';
import { formatType, isDynamic, numel } from '../../ir/types.js';
import { declaredRank, givenShape, inputConstant, InputValuesNeededError, type InputValueNeed, type InputValues } from './input-values.js';
import { decodeModel, type GraphProtoObject, type ModelProtoObject, type NodeProtoObject, type TensorProtoObject, type ValueInfoObject } from './proto.js';
import { isStorageOnly, kilnDType, OnnxType, onnxTypeName } from './onnx-types.js';
import type { IoEntry, IoLayout } from '../../runtime/io-layout.js';
import { bindContainerInput, isContainerType, itemName, splitShapes, type ItemShapes } from './container-io.js';
import { constTensor, readTensor, UnsupportedOnnxError, type ExternalDataReader } from './tensor.js';
import './ops/index.js';

export interface OnnxImportOptions {
  /** Shapes of graph inputs by name; required for inputs with symbolic or unknown dimensions. */
  readonly inputShapes?: InputShapes;
  /** Reads tensors stored in external files (importOnnxFile reads them next to the model). */
  readonly readExternalData?: ExternalDataReader;
  /** Name of the graph; the ONNX graph's name by default. */
  readonly name?: string;
  /**
   * Values of graph inputs, which become constants (and stop being inputs of the graph). Inputs
   * that decide shapes or parameters need them; without, import fails with an
   * InputValuesNeededError that lists every such input.
   */
  readonly inputValues?: InputValues;
  /**
   * For sequence and optional graph inputs: each item's shape (a sequence's length is the number
   * of shapes), or null for an absent optional. Each item becomes a graph input (see IoLayout).
   */
  readonly itemShapes?: ItemShapes;
}

/** An imported model: its graph, and how the model's inputs and outputs map to the graph's. */
export interface OnnxImport {
  readonly graph: Graph;
  /** Sequence and optional inputs and outputs are their item tensors in the graph; this says which. */
  readonly layout: IoLayout;
}

export { MAX_OPSET, MIN_OPSET } from './opsets.js';


/**
 * Imports an ONNX model (the bytes of a .onnx file) as a kiln Graph with static shapes.
 * Constant subgraphs (shape arithmetic and the like) are computed during import. Errors name the
 * ONNX node involved; unsupported op types are all listed in one UnsupportedOnnxError.
 */
export function importOnnx(bytes: Uint8Array, opts: OnnxImportOptions = {}): Graph {
  return importModel(decodeModel(bytes), opts);
}

/**
 * Imports an already decoded ModelProto. A sequence or optional input or output is its item
 * tensors in the graph; importModelWithLayout also says which (the graph alone cannot).
 */
export function importModel(model: ModelProtoObject, opts: OnnxImportOptions = {}): Graph {
  return importModelWithLayout(model, opts).graph;
}

/** Imports an already decoded ModelProto, with the layout of its inputs and outputs. */
export function importModelWithLayout(model: ModelProtoObject, opts: OnnxImportOptions = {}): OnnxImport {
  const g = model.graph;
  if (!g) throw new KilnError('the ONNX model has no graph (is the file truncated?)');
  const opset = defaultOpset(model);
  const initializers = new Map<string, TensorProtoObject>();
  for (const t of g.initializer ?? []) {
    const name = t.name ?? '';
    if (initializers.has(name)) throw new KilnError(`the ONNX graph has two initializers named '${name}'; a tensor name is defined once (is the file damaged?)`);
    initializers.set(name, t);
  }
  // Before IR version 4, initializers were also listed as graph inputs; they are weights, not inputs.
  const inputs = (g.input ?? []).filter((v) => !initializers.has(v.name ?? ''));
  const defined = new Set([...inputs.map((v) => v.name ?? ''), ...initializers.keys()]);
  const nodes = orderNodes(g.node ?? [], defined);
  checkOutputsDefined(g, defined, nodes);
  checkSupported(allNodes(g.node ?? []), opset);
  for (const vi of g.output ?? []) {
    if (vi.type && !vi.type.tensor_type && !isContainerType(vi.type)) throw new UnsupportedOnnxError(`graph output '${vi.name ?? ''}' is not a tensor, a sequence or an optional (map outputs are not supported)`);
  }
  const values = opts.inputValues ?? {};
  const tensorInputs = inputs.filter((v) => !isContainerType(v.type));
  const { tensorShapes, itemShapes } = splitShapes(inputs, { ...givenShapes(inputs, values), ...opts.inputShapes }, opts.itemShapes ?? {});
  const specs = new Map(resolveInputs(tensorInputs, tensorShapes).map((s) => [s.name, s]));

  const graph = new Graph(opts.name ?? (g.name || 'onnx_model'));
  const onnxNames = tensorNames(defined, nodes);
  graph.reserveNames(onnxNames);
  const b = new OnnxBuilder(graph, onnxNames);
  const env = new Map<string, ImportValue>();
  const taken = (name: string) => onnxNames.has(name) || graph.hasName(name);
  const inputLayout: IoEntry[] = [];
  for (const v of inputs) {
    const s = specs.get(v.name ?? '');
    if (!s) {
      const bound = bindContainerInput(graph, v, itemShapes, taken);
      env.set(bound.entry.name, bound.value);
      inputLayout.push(bound.entry);
      continue;
    }
    const given = values[s.name];
    env.set(s.name, given ? inputConstant(s.name, given, s.dtype, s.shape) : graph.addInput(s.name, { dtype: s.dtype, shape: s.shape, device: s.dtype === 'string' ? 'cpu' : 'webgpu', ...(s.dims ? { dims: s.dims } : {}) }));
    if (!given) inputLayout.push({ name: s.name, kind: 'tensor', items: [s.name] });
  }
  for (const [name, t] of initializers) env.set(name, readTensor(t, opts.readExternalData, name));

  const scope: Scope = { b, opset, readExternal: opts.readExternalData, types: declaredTypes(g), pending: new Set(), needs: [] };
  mapNodes(scope, g, nodes, env);
  if (scope.needs.length) throw new InputValuesNeededError(scope.needs);

  const outputs: Value[] = [];
  /** The graph output for `x`, named `name`. */
  const output = (x: Operand, name: string): string => {
    let v = b.value(x);
    if (v.name !== name && !graph.hasName(name)) {
      // Outputs keep their ONNX names. One that is a graph input or another output under
      // another name (Identity at the end) gets a copy (a same-dtype cast), so names stay distinct.
      if (v.producer && !outputs.includes(v)) graph.renameValue(v, name);
      else v = graph.addNode('cast', [v], { to: v.type.dtype }, { names: [name] }).output;
    }
    outputs.push(v);
    return v.name;
  };
  const outputLayout = (g.output ?? []).map((vi): IoEntry => {
    const name = vi.name ?? '';
    const x = env.get(name)!;
    if (!isContainer(x)) return { name, kind: 'tensor', items: [output(x, name)] };
    if (vi.type?.tensor_type) throw new UnsupportedOnnxError(`graph output '${name}' is not a tensor: the model declares it one, but it is ${x.kind === 'sequence' ? 'a sequence' : 'an optional'}`);
    // A sequence's items (and an optional's content) are outputs of their own.
    const held = x.kind === 'optional' ? x.value : x;
    const items = held === undefined ? [] : isContainer(held) ? held.items.map((item, k) => output(item, itemName(name, k, taken))) : [output(held, name)];
    if (x.kind === 'sequence') return { name, kind: 'sequence', items };
    return { name, kind: 'optional', items, holds: held === undefined ? 'none' : isContainer(held) ? 'sequence' : 'tensor' };
  });
  if (outputs.length === 0) throw new UnsupportedOnnxError('the model returns only empty sequences or absent optionals: the compiled program would return no tensor');
  graph.setOutputs(outputs);
  return { graph, layout: { inputs: inputLayout, outputs: outputLayout } };
}

/** What mapping nodes needs besides the names in scope. */
interface Scope {
  readonly b: OnnxBuilder;
  readonly opset: number;
  readonly readExternal: ExternalDataReader | undefined;
  /** ONNX element types of tensor names, declared by the model or implied by the nodes mapped so far. */
  readonly types: Map<string, number>;
  /**
   * Names left unmapped because they wait for input values (`needs`): import goes on past them
   * to find every input whose value is needed, then fails listing them all.
   */
  readonly pending: Set<string>;
  readonly needs: InputValueNeed[];
}

/** The element types a graph declares: inputs, outputs, value_info and initializers. */
function declaredTypes(g: GraphProtoObject, into = new Map<string, number>()): Map<string, number> {
  for (const vi of [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])]) {
    const t = vi.type?.tensor_type?.elem_type;
    if (t) into.set(vi.name ?? '', t);
  }
  for (const t of g.initializer ?? []) if (t.data_type) into.set(t.name ?? '', t.data_type);
  return into;
}

/** Shapes of the inputs given values, so that their symbolic dimensions need no inputShapes. */
function givenShapes(inputs: readonly ValueInfoObject[], values: InputValues): Record<string, readonly number[]> {
  const names = new Set(inputs.map((v) => v.name ?? ''));
  const unknown = Object.keys(values).filter((k) => !names.has(k));
  if (unknown.length) {
    throw new KilnError(`values were given for ${unknown.map((k) => `'${k}'`).join(', ')}, but the model's inputs are ${[...names].map((n) => `'${n}'`).join(', ') || 'none'}`);
  }
  return Object.fromEntries(inputs.flatMap((v) => {
    const given = values[v.name ?? ''];
    return given ? [[v.name ?? '', givenShape(given, declaredRank(v))]] : [];
  }));
}

/** How many nodes (their subgraphs included) and graph outputs read each tensor name. */
function countReaders(g: GraphProtoObject, nodes: readonly NodeProtoObject[]): Map<string, number> {
  const m = new Map<string, number>();
  const read = (name: string) => m.set(name, (m.get(name) ?? 0) + 1);
  for (const n of nodes) for (const x of nodeReads(n)) if (x !== '') read(x);
  for (const v of g.output ?? []) read(v.name ?? '');
  return m;
}

/** Maps a graph's nodes (in execution order) into `env`. */
function mapNodes(scope: Scope, g: GraphProtoObject, nodes: readonly NodeProtoObject[], env: Map<string, ImportValue>): void {
  const readers = countReaders(g, nodes);
  nodes.forEach((p, i) => mapNode(scope, p, i, env, readers, nodes));
}

/**
 * Imports a subgraph where it is used (an If branch, or one iteration of a Loop or Scan body,
 * whose declared inputs are bound to `inputs`): it sees every name of the enclosing scopes, and
 * its outputs become the node's outputs.
 */
function importSubgraph(scope: Scope, g: GraphProtoObject, outer: ReadonlyMap<string, ImportValue>, inputs: readonly ImportValue[]): ImportValue[] {
  const declared = g.input ?? [];
  if (declared.length !== inputs.length) throw new KilnError(`subgraph '${g.name ?? ''}' declares ${declared.length} inputs but is given ${inputs.length}`);
  const env = new Map(outer);
  declaredTypes(g, scope.types);
  declared.forEach((v, i) => env.set(v.name ?? '', inputs[i]!));
  for (const t of g.initializer ?? []) env.set(t.name ?? '', readTensor(t, scope.readExternal, t.name));
  mapNodes(scope, g, orderNodes(g.node ?? [], new Set(env.keys())), env);
  // An output waiting for input values leaves the node holding this subgraph waiting too.
  if ((g.output ?? []).some((v) => scope.pending.has(v.name ?? ''))) throw new InputValuesNeededError([]);
  return (g.output ?? []).map((v) => {
    const x = env.get(v.name ?? '');
    if (!x) throw new KilnError(`subgraph '${g.name ?? ''}' returns '${v.name}', which it does not define`);
    return x;
  });
}

/** Constants of at most this many elements stay constants inside a closed subgraph; larger ones stay weights of the enclosing graph, passed as parameters. */
const INLINE_CONSTANT_ELEMENTS = 16;

/**
 * Imports a subgraph as a closed graph of its own (see ClosedSubgraph): its declared inputs are
 * parameters of types `params`; each value of the enclosing scopes named in `outside` is a
 * constant inside when small, else a further parameter, fed by the enclosing graph's value.
 */
function importClosedSubgraph(scope: Scope, g: GraphProtoObject, env: ReadonlyMap<string, ImportValue>, params: readonly ParamType[], outside: readonly string[] = [...outerNames(g)]): ClosedSubgraph {
  const declared = g.input ?? [];
  const name = g.name || 'subgraph';
  if (declared.length !== params.length) throw new KilnError(`subgraph '${name}' declares ${declared.length} inputs but is given ${params.length}`);
  const graph = new Graph(name);
  const inputs = declared.map((v, i) => graph.addInput(v.name || `in${i}`, { ...params[i]!, device: 'webgpu' }));
  const inner = new Map<string, ImportValue>();
  const taken: Value[] = [];
  for (const outer of outside) {
    const x = env.get(outer);
    if (x === undefined) continue; // waiting for input values, or undefined: mapping the subgraph says which
    if (isContainer(x)) throw new UnsupportedOnnxError(`subgraph '${name}' reads '${outer}', a sequence or optional, from the enclosing graph; kiln's subgraphs run at run time read tensors`);
    if (isConst(x) && !x.probes && numel(x.data.shape) <= INLINE_CONSTANT_ELEMENTS) {
      inner.set(outer, x);
      continue;
    }
    const v = scope.b.value(x);
    if (isDynamic(v.type)) throw new UnsupportedOnnxError(`subgraph '${name}' reads '${outer}' (${formatType(v.type)}), whose extents vary; kiln's subgraphs run at run time have fixed extents`);
    inner.set(outer, graph.addInput(outer, { dtype: v.type.dtype, shape: v.type.shape, device: 'webgpu' }));
    taken.push(v);
  }
  // A value the subgraph needs at import (a shape, a slice start) computed from its parameters
  // is known only when it runs: no input value given at import can supply it.
  const sub: Scope = { ...scope, b: new OnnxBuilder(graph, new Set()), pending: new Set(), needs: [] };
  const refuse = () => new UnsupportedOnnxError(`subgraph '${name}' computes ${[...new Set(sub.needs.map((n) => n.use))].join('; ')} from values known only when it runs; kiln needs them at import`);
  let outs: ImportValue[];
  try {
    outs = importSubgraph(sub, g, inner, inputs);
  } catch (e) {
    throw e instanceof InputValuesNeededError && sub.needs.length ? refuse() : e;
  }
  if (sub.needs.length) throw refuse();
  const held = outs.findIndex(isContainer);
  if (held >= 0) throw new UnsupportedOnnxError(`subgraph '${name}' returns '${g.output?.[held]?.name ?? held}', a sequence or optional; kiln's subgraphs run at run time return tensors`);
  graph.setOutputs((outs as Operand[]).map((x) => sub.b.value(x)));
  const varying = graph.values().find((v) => isDynamic(v.type));
  if (varying) throw new UnsupportedOnnxError(`subgraph '${name}' makes '${varying.name}' (${formatType(varying.type)}), whose extents are decided when it runs; kiln's subgraphs run at run time have fixed extents`);
  return { graph, outside: taken };
}

/** Maps one node and records its outputs, named as in the model. */
function mapNode(scope: Scope, p: NodeProtoObject, index: number, env: Map<string, ImportValue>, readers: ReadonlyMap<string, number>, nodes: readonly NodeProtoObject[]): void {
  const b = scope.b;
  const label = nodeLabel(p, index);
  const opType = p.op_type ?? '';
  const where = `node '${label}' (${opType})`;
  const outNames = p.output ?? [];
  const wait = () => outNames.forEach((o) => scope.pending.add(o));
  if (nodeReads(p).some((x) => scope.pending.has(x))) return wait();
  const inputTypes = (p.input ?? []).map((x) => scope.types.get(x));
  const stored = inputTypes.find((t) => t !== undefined && isStorageOnly(t));
  if (stored !== undefined && !CARRIES_STORED_TYPES.has(opType)) {
    throw new UnsupportedOnnxError(`${where} computes on ${onnxTypeName(stored)} values, which kiln only stores (in ${kilnDType(stored, where)}), casts and moves`);
  }
  const operands = (p.input ?? []).map((x) => (x === '' ? undefined : env.get(x)!));
  const containers = operands.map((x) => (x && isContainer(x) ? x : undefined));
  const held = containers.findIndex((x) => x !== undefined);
  if (held >= 0 && !TAKES_CONTAINERS.has(opType)) {
    throw new UnsupportedOnnxError(`${where}: its input '${p.input![held]}' is ${containers[held]!.kind === 'sequence' ? 'a sequence' : 'an optional'}, which only kiln's sequence and optional ops take`);
  }
  const node = new OnnxNode(
    label, opType, scope.opset, new OnnxAttrs(p.attribute ?? [], where), b,
    operands.map((x) => (x && !isContainer(x) ? x : undefined)),
    outNames.map((o) => o !== '' && (readers.get(o) ?? 0) > 0),
    (sub, inputs = []) => importSubgraph(scope, sub, env, inputs),
    inputTypes,
    containers,
    (sub, params, outside) => importClosedSubgraph(scope, sub, env, params, outside),
    (output, params, types) => importClosedSubgraph(scope, functionProto(nodes, output, params, `${label} function`), env, types),
  );
  const firstNew = b.graph.nodes.length;
  let result;
  try {
    const r = onnxMapper(mapperKey(p))!(node);
    result = Array.isArray(r) ? r : [r as ImportValue];
  } catch (e) {
    if (!(e instanceof InputValuesNeededError)) throw inNode(e, where);
    scope.needs.push(...e.needs);
    return wait();
  }
  const fresh = new Set(b.graph.nodes.slice(firstNew));
  outNames.forEach((name, i) => {
    if (name === '') return;
    const out = result[i];
    if (!out) {
      if (node.outputUsed(i)) throw new UnsupportedOnnxError(`${where}: its output ${i} ('${name}') is not supported`);
      return;
    }
    if (isContainer(out)) return void env.set(name, out);
    let r: Operand = out;
    const type = scope.types.get(name) ?? impliedType(node, inputTypes, r);
    if (type !== undefined) scope.types.set(name, type);
    // bfloat16 is computed in f32 and rounded once per ONNX node, as runtimes without bf16 arithmetic do.
    if (type === OnnxType.BFLOAT16 && !ROUNDS_ITSELF.has(opType) && typeOf(r).dtype === 'f32' && !node.inputs.includes(r)) {
      r = b.op('cast', [r], { to: 'f32', format: 'bfloat16' });
      if (!isConst(r) && r.producer) fresh.add(r.producer);
    }
    if (isConst(r)) env.set(name, { ...constTensor(name, r.data, r.wide), ...(r.probes ? { probes: r.probes } : {}), ...(r.dequantizedFrom ? { dequantizedFrom: r.dequantizedFrom } : {}) });
    else {
      if (r.producer && fresh.has(r.producer) && !b.graph.hasName(name)) b.graph.renameValue(r, name);
      env.set(name, r);
    }
  });
}

/** ONNX ops that take sequences or optionals as operands (ops/sequence.ts, and Identity). */
const TAKES_CONTAINERS: ReadonlySet<string> = new Set([
  'Identity', 'Loop', 'SequenceInsert', 'SequenceAt', 'SequenceErase', 'SequenceLength', 'ConcatFromSequence', 'SequenceMap',
  'Optional', 'OptionalHasElement', 'OptionalGetElement',
]);

/**
 * ONNX ops that move or reinterpret values without computing on them, or that quantize into or
 * dequantize from the narrow types themselves: they take any stored type.
 */
const CARRIES_STORED_TYPES: ReadonlySet<string> = new Set([
  'Cast', 'CastLike', 'BitCast', 'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Shape',
  'Size', 'Concat', 'Split', 'Slice', 'Gather', 'Expand', 'Tile', 'DepthToSpace', 'SpaceToDepth', 'Where', 'If',
  // Quantization ops cast into (and read) the narrow types themselves; ORT's GatherBlockQuantized
  // dequantizes an int4 table.
  'QuantizeLinear', 'DequantizeLinear', 'GatherBlockQuantized',
]);
/** Ops whose result is already rounded to its type, or not computed at all. */
const ROUNDS_ITSELF: ReadonlySet<string> = new Set([...CARRIES_STORED_TYPES, 'Constant', 'ConstantOfShape']);

/**
 * The ONNX element type of a node's result when the model does not declare it: a cast's
 * target, a constant's own type, or else the type of the inputs it shares its kiln dtype with
 * (ONNX ops keep their operands' type: Relu of bfloat16 is bfloat16).
 */
function impliedType(n: OnnxNode, inputTypes: readonly (number | undefined)[], r: Operand): number | undefined {
  if (n.opType === 'Cast' || n.opType === 'BitCast') return n.attrs.int('to');
  if (n.opType === 'CastLike') return inputTypes[1];
  if (isConst(r) && r.onnxType !== undefined) return r.onnxType;
  const dtype = typeOf(r).dtype;
  const same = new Set(inputTypes.filter((t, i) => t !== undefined && n.inputs[i] && typeOf(n.inputs[i]!).dtype === dtype));
  return same.size === 1 ? [...same][0] : undefined;
}

/** An error raised while mapping a node, with the node named (same class for user errors). */
function inNode(e: unknown, where: string): Error {
  if (!(e instanceof Error)) return new Error(`${where}: ${String(e)}`);
  if (e.message.includes(where)) return e;
  if (e instanceof UnsupportedOnnxError) return new UnsupportedOnnxError(`${where}: ${e.message}`);
  if (e instanceof KilnError) return new KilnError(`${where}: ${e.message}`);
  return new Error(`${where}: internal error while importing: ${e.message}`, { cause: e });
}
