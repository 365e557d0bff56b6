import type { Attrs } from '../ir/attrs.js';
import { Graph, type Node, type Value } from '../ir/graph.js';
import type { Device, TensorType } from '../ir/types.js';

/**
 * Copies a graph node by node into a fresh one, letting a pass replace what it rewrites.
 * Copied values keep their names; new values get fresh names that never collide with them.
 */
export class GraphRebuilder {
  readonly out: Graph;
  private readonly map = new Map<Value, Value>();

  /** `inputType` may retype the graph inputs (e.g. to f16 I/O). */
  constructor(readonly src: Graph, inputType: (v: Value) => TensorType = (v) => v.type) {
    this.out = new Graph(src.name);
    this.out.reserveNames(src.values().map((v) => v.name));
    for (const v of src.inputs) this.map.set(v, this.out.addInput(v.name, inputType(v)));
  }

  /** The new value standing for old value `v`. */
  get(v: Value): Value {
    const m = this.map.get(v);
    if (!m) throw new Error(`internal: %${v.name} was not rebuilt before its use`);
    return m;
  }

  /** Makes old value `v` stand for `replacement` (a value of the new graph) from now on. */
  replace(v: Value, replacement: Value): void {
    this.map.set(v, replacement);
  }

  /** Copies a node with its inputs mapped; outputs keep names and types (placed on `device` if given). */
  copy(node: Node, inputs?: Value[], attrs?: Attrs, device?: Device): Node {
    // A name already taken (a pass renamed something to it) falls back to fresh names.
    const names = node.outputs.map((o) => o.name);
    const keepNames = names.every((n) => !this.out.hasName(n));
    const copied = this.out.addNode(node.op, inputs ?? node.inputs.map((v) => this.get(v)), attrs ?? node.attrs, {
      types: node.outputs.map((o) => (device ? { ...o.type, device } : o.type)),
      ...(keepNames ? { names } : {}),
      device: device ?? node.outputs[0]?.type.device,
    });
    node.outputs.forEach((o, i) => this.map.set(o, copied.outputs[i]!));
    return copied;
  }

  /** Adds a new node to the output graph (inputs are new-graph values); `names` reuse old names. */
  add(op: string, inputs: Value[], attrs: Attrs = {}, device?: Device, names?: string[]): Node {
    const free = names?.every((n) => !this.out.hasName(n));
    return this.out.addNode(op, inputs, attrs, { ...(device ? { device } : {}), ...(free ? { names } : {}) });
  }

  /**
   * Sets the outputs (old values, mapped); each keeps its old name. A pass may have replaced an
   * output by a graph input or by another output (x*1 -> x, an identity transpose): such a value
   * cannot take the output's name, so the output becomes a copy of it (a same-dtype cast).
   */
  finish(): Graph {
    const outs = this.src.outputs.map((v) => this.get(v));
    const returned = new Set<Value>();
    outs.forEach((nv, i) => {
      const want = this.src.outputs[i]!.name;
      if (nv.name !== want) {
        // An intermediate holding the name (a value the output is now a transfer or copy of)
        // gives it up: the graph's outputs keep theirs.
        const holder = this.out.hasName(want) ? this.out.values().find((v) => v.name === want) : undefined;
        if (holder?.producer && !outs.includes(holder)) this.out.renameToFresh(holder);
      }
      if (nv.name !== want && !this.out.hasName(want)) {
        if (nv.producer && !returned.has(nv)) this.out.renameValue(nv, want);
        else outs[i] = this.out.addNode('cast', [nv], { to: nv.type.dtype }, { names: [want], device: nv.type.device }).output;
      }
      returned.add(outs[i]!);
    });
    this.out.setOutputs(outs);
    return this.out;
  }
}

/** Rebuilds `g`, letting `visit` handle each node (return true if it did; else the node is copied). */
export function rebuild(g: Graph, visit: (node: Node, b: GraphRebuilder) => boolean): Graph {
  const b = new GraphRebuilder(g);
  for (const node of g.nodes) if (!visit(node, b)) b.copy(node);
  return b.finish();
}
