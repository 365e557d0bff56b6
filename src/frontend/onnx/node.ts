import { KilnError } from '../../ir/errors.js';
import type { Graph, Value } from '../../ir/graph.js';
import type { DType, Shape } from '../../ir/types.js';
import type { OnnxAttrs } from './attributes.js';
import { isConst, isContainer, typeOf, type ImportValue, type OnnxBuilder, type Operand, type OptionalOperand, type SequenceOperand } from './builder.js';
import { graphInputsOf, InputValuesNeededError } from './input-values.js';
import type { GraphProtoObject } from './proto.js';
import { constValues, UnsupportedOnnxError, varies, type ConstTensor } from './tensor.js';
import { dMul, type Dim } from '../../ir/size-expr.js';
import { dimFromProbes } from '../../ir/symbolic-shapes.js';

/** The dtype and shape of a closed subgraph's parameter. */
export interface ParamType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/**
 * A subgraph imported as a closed graph: its parameters are its declared inputs, then one per
 * value of enclosing scopes it reads that is not a small constant (`outside`, in order: the
 * operands the node holding it passes after its own).
 */
export interface ClosedSubgraph {
  readonly graph: Graph;
  readonly outside: readonly Value[];
}

/**
 * One ONNX node as its mapping function sees it: operands (graph values or constants), typed
 * attributes, the opset it was written for, and the builder that emits kiln ops.
 */
export class OnnxNode {
  constructor(
    /** The node's name, or `OpType #k` when it has none; every message names it. */
    readonly name: string,
    readonly opType: string,
    /** Version of the default ONNX domain the model imports. */
    readonly opset: number,
    readonly attrs: OnnxAttrs,
    readonly b: OnnxBuilder,
    /** Operands in order; undefined where ONNX leaves an optional input empty. */
    readonly inputs: readonly (Operand | undefined)[],
    /** Whether each declared output is read by another node or is a graph output. */
    private readonly used: readonly boolean[],
    /**
     * Imports a subgraph in this node's scope (an If branch, or one iteration of a Loop or Scan
     * body with its declared inputs bound to `inputs`); returns its outputs, tensors or containers.
     */
    readonly importSubgraphValues: (g: GraphProtoObject, inputs?: readonly ImportValue[]) => ImportValue[],
    /** The ONNX element type of each input, where the model says it (kiln's dtypes are coarser: int8 is i32). */
    private readonly inputTypes: readonly (number | undefined)[] = [],
    /** The sequences and optionals among the operands (their `inputs` entry is undefined). */
    private readonly containers: readonly (SequenceOperand | OptionalOperand | undefined)[] = [],
    /**
     * Imports a subgraph as a closed graph of its own (a Loop body or an If branch run at run
     * time), its declared inputs of the types `params`; see ClosedSubgraph. `outside` names
     * the values of enclosing scopes it takes (by default, those it reads).
     */
    readonly importClosed: (g: GraphProtoObject, params: readonly ParamType[], outside?: readonly string[]) => ClosedSubgraph = () => {
      throw new KilnError('internal: this node cannot import closed subgraphs');
    },
    /**
     * Imports, as a closed graph (see ClosedSubgraph) returning the tensor named `output`, the
     * nodes of this node's graph that compute it from the tensors named `params` (those on a
     * path from one of them to it); its parameters are those, of the types `types`, then the
     * other values it reads.
     */
    readonly importFunction: (output: string, params: readonly string[], types: readonly ParamType[]) => ClosedSubgraph = () => {
      throw new KilnError('internal: this node cannot import the function of a tensor');
    },
  ) {}

  /**
   * This node as the default domain's op of `opset` sees it: for an op another domain defines
   * as a fixed version of an ONNX op (ONNX Runtime's com.microsoft.Pad is Pad-11 at any opset).
   */
  atOpset(opset: number): OnnxNode {
    return new OnnxNode(this.name, this.opType, opset, this.attrs, this.b, this.inputs, this.used, this.importSubgraphValues, this.inputTypes, this.containers, this.importClosed, this.importFunction);
  }

  /** This node over other operands (a fused op mapped as the op it wraps, on inputs it computed). */
  withInputs(inputs: readonly (Operand | undefined)[]): OnnxNode {
    return new OnnxNode(this.name, this.opType, this.opset, this.attrs, this.b, inputs, this.used, this.importSubgraphValues, [], [], this.importClosed, this.importFunction);
  }

  /** importSubgraphValues for a subgraph that must return tensors (refused, naming the output, when it returns a sequence or optional). */
  importSubgraph(g: GraphProtoObject, inputs: readonly ImportValue[] = []): Operand[] {
    return this.importSubgraphValues(g, inputs).map((x, k) => (isContainer(x)
      ? this.unsupported(`subgraph '${g.name ?? ''}' returns '${g.output?.[k]?.name ?? k}', a sequence or optional, where this op takes tensors`)
      : x));
  }

  /** A required sequence operand. */
  sequence(i: number): SequenceOperand {
    const x = this.containers[i];
    if (x?.kind === 'sequence') return x;
    return this.fail(`input ${i} must be a sequence, but it is ${x ? 'an optional' : this.inputs[i] ? 'a tensor' : 'missing'}`);
  }

  /** Operand `i` whatever its kind (tensor, sequence or optional), or undefined when absent. */
  anyInput(i: number): ImportValue | undefined {
    return this.containers[i] ?? this.inputs[i];
  }

  /** The ONNX element type of input `i`, when the model declares or implies it. */
  inputType(i: number): number | undefined {
    return this.inputTypes[i];
  }

  /** `node 'conv1' (Conv)`, for messages. */
  get where(): string {
    return `node '${this.name}' (${this.opType})`;
  }

  get outputCount(): number {
    return this.used.length;
  }

  /** Whether output `i` exists and something reads it. */
  outputUsed(i: number): boolean {
    return this.used[i] ?? false;
  }

  /** A required operand. */
  input(i: number): Operand {
    const x = this.inputs[i];
    if (!x && this.containers[i]) this.unsupported(`input ${i} is ${this.containers[i].kind === 'sequence' ? 'a sequence' : 'an optional'} where a tensor is expected`);
    if (!x) throw new KilnError(`${this.where} needs input ${i}, which is missing`);
    return x;
  }

  /** An optional operand (undefined when absent or empty). */
  optional(i: number): Operand | undefined {
    return this.inputs[i];
  }

  /** An operand that must be known at import time (a parameter ONNX passes as a tensor). */
  constant(i: number, what: string): ConstTensor {
    const x = this.input(i);
    if (!isConst(x)) {
      // Computed from graph inputs: importing again with their values makes it a constant.
      const sources = graphInputsOf(x);
      if (sources.length) throw new InputValuesNeededError(sources.map((v) => ({ input: v.name, use: `the ${what} of ${this.where}` })));
      const t = typeOf(x);
      throw new UnsupportedOnnxError(`${this.where}: its ${what} (input ${i}, '${x.name}', ${t.dtype}[${t.shape.join(',')}]) must be known at import time, but it is computed at run time; kiln compiles static shapes and parameters only`);
    }
    return x;
  }

  /** The values of a constant operand, or undefined when the operand is absent. */
  optionalValues(i: number, what: string): number[] | undefined {
    return this.inputs[i] ? this.values(i, what) : undefined;
  }

  /** Whether operand i is present and computed from sizes that vary (see OnnxBuilder.shapeConst). */
  variesWithSizes(i: number, what: string): boolean {
    return this.inputs[i] !== undefined && varies(this.constant(i, what));
  }

  /** The values of a required constant operand. */
  values(i: number, what: string): number[] {
    const c = this.constant(i, what);
    if (varies(c)) this.unsupported(`its ${what} (input ${i}, '${c.name}') depends on sizes that vary from run to run; give fixed sizes with --input-shape`);
    return constValues(c);
  }

  /**
   * The elements of a constant operand as dimensions: each a number, or the size (one of
   * `candidates`, or a size variable itself) it follows where it depends on sizes that vary (see
   * OnnxBuilder.shapeConst).
   */
  dims(i: number, what: string, extents: readonly Dim[]): Dim[] {
    const c = this.constant(i, what);
    const values = constValues(c);
    if (!varies(c)) return values;
    const envs = this.b.probeSettings();
    const candidates = [...extents, ...this.b.sizeDims()];
    // A size or extent, or a small whole multiple of one (Resize sizes of 2 * H).
    const scaled = candidates.flatMap((d) => [2, 3, 4, 8].map((k) => dMul(k, d)));
    return values.map((v, k) => dimFromProbes([v, ...c.probes!.map((p) => p.data[k]!)], envs, [...candidates, ...scaled])
      ?? this.unsupported(`its ${what} (input ${i}, '${c.name}') computes element ${k} from sizes that vary in a way kiln does not follow yet`));
  }

  /** Throws the error for a feature kiln does not import, naming this node. */
  unsupported(message: string): never {
    throw new UnsupportedOnnxError(`${this.where}: ${message}`);
  }

  /** Throws the error for a node that breaks ONNX's rules, naming this node. */
  fail(message: string): never {
    throw new KilnError(`${this.where}: ${message}`);
  }
}

/** Maps one ONNX node to kiln ops; returns one operand per ONNX output (undefined: not produced). */
export type OnnxMapper = (n: OnnxNode) => ImportValue | readonly (ImportValue | undefined)[];

const mappers = new Map<string, OnnxMapper>();

/** Registers the mapping function of one or more ONNX op types (default domain; others as `domain.OpType`). */
export function defineOnnxOp(opTypes: string | readonly string[], fn: OnnxMapper): void {
  for (const t of typeof opTypes === 'string' ? [opTypes] : opTypes) {
    if (mappers.has(t)) throw new Error(`ONNX op ${t} is mapped twice`);
    mappers.set(t, fn);
  }
}

/** The mapping function of an ONNX op type (`domain.OpType` outside the default domain), if kiln has one. */
export function onnxMapper(opType: string): OnnxMapper | undefined {
  return mappers.get(opType);
}

/** Whether kiln maps any op of a domain other than the default one. */
export function mapsDomain(domain: string): boolean {
  return [...mappers.keys()].some((k) => k.startsWith(`${domain}.`));
}

/** Every ONNX op type kiln imports, sorted. */
export function supportedOnnxOps(): string[] {
  return [...mappers.keys()].sort();
}
