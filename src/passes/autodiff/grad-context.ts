import type { Attrs, AttrValue } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import type { Node, Value } from '../../ir/graph.js';
import { getOp } from '../../ir/ops/registry.js';
import { tensorData, type TensorData } from '../../ir/tensor-data.js';
import { shapesEqual, type Device, type Shape } from '../../ir/types.js';
import type { GraphRebuilder } from '../rebuild.js';

/** What a gradient rule sees: the forward node's values in the new graph, and its output gradients. */
export class GradContext {
  /** Attributes the rule has read: any other one set to a non-default value is refused (see `unreadAttrs`). */
  private readonly read = new Set<string>();

  constructor(
    private readonly b: GraphRebuilder,
    /** The forward node (of the source graph; its attributes and types). */
    readonly node: Node,
    /** The node's operands and results as values of the graph being built. */
    readonly inputs: readonly Value[],
    readonly outputs: readonly Value[],
    /** Gradient of each result (undefined where no gradient reaches it). */
    readonly dys: readonly (Value | undefined)[],
  ) {}

  /** The gradient of the node's single result. */
  get dy(): Value {
    return this.dys[0]!;
  }

  /** The forward node's attribute `name`; reading it declares that the rule handles it. */
  attr<T extends AttrValue | undefined = AttrValue>(name: string): T {
    this.read.add(name);
    return this.node.attrs[name] as T;
  }

  /** Refuses the node: its attribute `name` has a value this rule cannot differentiate. */
  refuse(name: string, why: string): never {
    throw new KilnError(`differentiate: no gradient for ${this.node.op} with ${name} = ${JSON.stringify(this.node.attrs[name])} (${why})`);
  }

  /**
   * Attributes the rule never read whose value differs from the op's default: a rule written
   * before an attribute existed must not silently differentiate a function it does not know.
   */
  unreadAttrs(): string[] {
    const specs = getOp(this.node.op).attrSpecs;
    return Object.entries(this.node.attrs)
      .filter(([k, v]) => !this.read.has(k) && JSON.stringify(v) !== JSON.stringify(specs[k]?.default))
      .map(([k]) => k);
  }

  /** Adds a node to the backward graph and returns its result. */
  emit(op: string, inputs: Value[], attrs: Attrs = {}): Value {
    return this.b.add(op, inputs, attrs, inputs[0]?.type.device).output;
  }

  /** Adds a node with several results, placed on `device`. */
  emitAll(op: string, inputs: Value[], attrs: Attrs, device: Device): readonly Value[] {
    return this.b.add(op, inputs, attrs, device).outputs;
  }

  /** A constant holding `data`, on `like`'s device. */
  emitConst(data: TensorData, like: Value): Value {
    return this.b.add('const', [], { value: data }, like.type.device).output;
  }

  /** A scalar constant of `like`'s dtype on its device. */
  scalar(x: number, like: Value): Value {
    return this.b.add('const', [], { value: tensorData(like.type.dtype, [], [x]) }, like.type.device).output;
  }

  /** Zeros of `like`'s dtype and device in `shape` (an expanded scalar: no large constant). */
  zeros(shape: Shape, like: Value): Value {
    return this.emit('expand', [this.scalar(0, like)], { shape: [...shape] });
  }

  /** Sums a gradient of broadcast shape back to the shape its operand had (NumPy broadcasting). */
  unbroadcast(dv: Value, shape: Shape): Value {
    const out = dv.type.shape;
    if (shapesEqual(out, shape)) return dv;
    const off = out.length - shape.length;
    const axes = out.map((_, i) => i).filter((i) => i < off || (shape[i - off] === 1 && out[i] !== 1));
    const summed = axes.length ? this.emit('sum', [dv], { axes, keepdims: false }) : dv;
    return shapesEqual(summed.type.shape, shape) ? summed : this.emit('reshape', [summed], { shape: [...shape] });
  }

  /** Broadcasts a reduced gradient back over the reduced axes of `shape`. */
  expandOver(dv: Value, axes: readonly number[], shape: Shape): Value {
    const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const r = this.emit('reshape', [dv], { shape: kept });
    return this.emit('expand', [r], { shape: [...shape] });
  }
}

/** A gradient rule: the gradient of each operand (undefined where it has none, e.g. integer operands). */
export type GradRule = (c: GradContext) => (Value | undefined)[];
