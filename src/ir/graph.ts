import { dimsOf, formatType, shapesEqual, type Device, type TensorType } from './types.js';
import { boundShape, dimsAgree, inferDims } from './symbolic-shapes.js';
import { KilnError, OpTypeError } from './errors.js';
import type { Attrs } from './attrs.js';
import { getOp } from './ops/index.js';

/** An SSA value: produced once, by one node or as a graph input. */
export class Value {
  constructor(
    readonly id: number,
    public name: string,
    public type: TensorType,
    /** The node that produces this value; null for a graph input. */
    public producer: Node | null,
  ) {}
}

/** One operation: reads input values, writes fresh output values. */
export class Node {
  constructor(
    readonly id: number,
    readonly op: string,
    public inputs: Value[],
    public attrs: Attrs,
    public outputs: Value[],
  ) {}

  get output(): Value {
    if (this.outputs.length !== 1) throw new Error(`${this.op} has ${this.outputs.length} outputs`);
    return this.outputs[0]!;
  }
}

export interface AddNodeOptions {
  /** Output types; inferred from the op's definition when omitted. */
  types?: TensorType[];
  /** Output value names; fresh numbers when omitted. */
  names?: string[];
  /** Device of the outputs when it is not the inputs' (constants, transfers). */
  device?: Device;
}

/** A dataflow graph in SSA form; `nodes` are kept in a valid execution order. */
export class Graph {
  readonly inputs: Value[] = [];
  outputs: Value[] = [];
  nodes: Node[] = [];
  private nextId = 0;
  private nextName = 0;
  private readonly names = new Set<string>();
  /** Names fresh names avoid: a pass copying a graph reserves the names it will copy later. */
  private readonly reserved = new Set<string>();

  constructor(public name: string) {}

  /** Declares a graph input. */
  addInput(name: string, type: TensorType): Value {
    const v = new Value(this.nextId++, this.claimName(name), type, null);
    this.inputs.push(v);
    return v;
  }

  /** Appends a node; output types are inferred (and checked when given). */
  addNode(op: string, inputs: Value[], attrs: Attrs = {}, opts: AddNodeOptions = {}): Node {
    const def = getOp(op);
    // A data-dependent extent gets a size variable of its own, named after the node.
    const full = def.withDefaults(def.producesSize && attrs['size'] === undefined ? { ...attrs, size: `${op}_${this.nextId}` } : attrs);
    const device = opts.device ?? inputs[0]?.type.device ?? 'webgpu';
    const where = () => `${op}(${inputs.map((v) => `%${v.name}: ${formatType(v.type)}`).join(', ')})`;
    let inferred: TensorType[];
    try {
      def.checkArity(inputs.length);
      const types = inputs.map((v) => v.type);
      const dims = inferDims(def, types, full);
      inferred = def.infer(types, full, opts.types).map((t, i) => {
        const d = dims?.[i];
        return d ? { ...t, shape: boundShape(d), device, dims: d } : { ...t, device };
      });
    } catch (e) {
      if (e instanceof OpTypeError) throw new OpTypeError(`${where()}: ${e.message}`);
      throw e;
    }
    if (opts.types) {
      if (opts.types.length !== inferred.length) {
        throw new OpTypeError(`${where()}: declares ${opts.types.length} results but the op has ${inferred.length}`);
      }
      opts.types.forEach((t, i) => {
        const want = inferred[i]!;
        const same = t.dtype === want.dtype && shapesEqual(t.shape, want.shape) && dimsAgree(dimsOf(t), dimsOf(want));
        if (!same) {
          throw new OpTypeError(`${where()}: result ${i} is declared ${formatType(t)} but the op gives ${formatType({ ...want, device: t.device })}`);
        }
      });
    }
    const node = new Node(this.nextId++, op, [...inputs], full, []);
    node.outputs = inferred.map((t, i) => {
      const name = opts.names?.[i] ?? this.freshName();
      return new Value(this.nextId++, this.claimName(name), opts.types?.[i] ?? t, node);
    });
    this.nodes.push(node);
    return node;
  }

  /** Sets the values the graph returns. */
  setOutputs(values: Value[]): void {
    this.outputs = [...values];
  }

  /** Gives a value a new name (unique in the graph), e.g. to name a traced output. */
  renameValue(v: Value, name: string): void {
    if (v.name === name) return;
    this.claimName(name);
    this.names.delete(v.name);
    v.name = name;
  }

  /** Gives a value a fresh name, freeing its own (for another value to take). */
  renameToFresh(v: Value): void {
    this.names.delete(v.name);
    v.name = this.claimName(this.freshName());
  }

  /** Every value of the graph: inputs first, then node outputs in order. */
  values(): Value[] {
    return [...this.inputs, ...this.nodes.flatMap((n) => n.outputs)];
  }

  /** Map from each value to the nodes that read it. */
  users(): Map<Value, Node[]> {
    const m = new Map<Value, Node[]>();
    for (const n of this.nodes) {
      for (const v of n.inputs) {
        const list = m.get(v);
        if (list) { if (!list.includes(n)) list.push(n); } else m.set(v, [n]);
      }
    }
    return m;
  }

  /**
   * A lookup of each value's single reader: undefined for a value read by several nodes, by
   * none, or returned by the graph (a rewrite may fold such a value into its reader's kernel).
   */
  onlyReaders(): (v: Value) => Node | undefined {
    const users = this.users();
    const outputs = new Set(this.outputs);
    return (v) => {
      const r = users.get(v);
      return r?.length === 1 && !outputs.has(v) ? r[0] : undefined;
    };
  }

  /** Keeps fresh names off `names`, which may still be claimed explicitly later. */
  reserveNames(names: Iterable<string>): void {
    for (const n of names) this.reserved.add(n);
  }

  /** Whether a value of this graph already has the name. */
  hasName(name: string): boolean {
    return this.names.has(name);
  }

  private freshName(): string {
    while (this.names.has(String(this.nextName)) || this.reserved.has(String(this.nextName))) this.nextName++;
    return String(this.nextName++);
  }

  private claimName(name: string): string {
    if (this.names.has(name)) throw new KilnError(`value name %${name} is defined twice in graph ${this.name}`);
    this.names.add(name);
    return name;
  }
}
