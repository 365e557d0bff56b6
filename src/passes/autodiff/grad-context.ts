import type { Attrs, AttrValue } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import type { Node, Value } from '../../ir/graph.js';
import { getOp } from '../../ir/ops/registry.js';
import { tensorData, type TensorData } from '../../ir/tensor-data.js';
import { toF16Array } from '../../ir/f16.js';
import { isFloat, shapesEqual, type Device, type DType, type Shape } from '../../ir/types.js';
import type { GraphRebuilder } from '../rebuild.js';
import { NON_DIFFERENTIABLE } from './non-differentiable.js';

/**
 * How many elements a rule may materialise (a one-hot matrix, an [n, n] selection) to express a
 * gradient in ops the device runs; beyond it the rule falls back to an op that runs on the CPU
 * (a scatter, a scan), which only a segmented program can hold.
 */
export const DEVICE_EXPANSION_LIMIT = 1 << 24;

/** What a gradient rule sees: the forward node's values in the new graph, and its output gradients. */
export class GradContext {
  /** Attributes the rule has read: any other one set to a non-default value is refused (see `unreadAttrs`). */
  private readonly read = new Set<string>();

  constructor(
    private readonly b: GraphRebuilder,
    /** The rules, for ops a rule decomposes into (see `decomposed`). */
    private readonly rules: Readonly<Record<string, GradRule>>,
    /** The forward node (of the source graph, or of the graph being built for a decomposition). */
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

  /**
   * The gradients of the node's operands through a decomposition: `build` emits the forward
   * computation in ops that have rules and returns its results (standing for the node's); they
   * are differentiated here, in reverse, by those rules. For ops (a recurrence) whose gradient
   * is best written as the gradient of their definition.
   */
  decomposed(build: () => Value[]): (Value | undefined)[] {
    const first = this.b.out.nodes.length;
    const ys = build();
    const emitted = this.b.out.nodes.slice(first);
    // Only nodes downstream of the operands carry gradients (not the constants among them).
    const live = new Set<Value>(this.inputs);
    for (const n of emitted) if (n.inputs.some((x) => live.has(x))) for (const o of n.outputs) live.add(o);
    const grads = new Map<Value, Value>();
    ys.forEach((y, i) => { if (this.dys[i]) grads.set(y, this.dys[i]!); });
    for (let k = emitted.length - 1; k >= 0; k--) {
      const n = emitted[k]!;
      if (!n.outputs.some((o) => grads.has(o) && live.has(o))) continue;
      const dxs = applyRule(this.b, this.rules, n, n.inputs, n.outputs, n.outputs.map((o) => grads.get(o)));
      n.inputs.forEach((x, i) => {
        const dx = dxs[i];
        if (!dx || !isFloat(x.type.dtype) || !live.has(x)) return;
        const prev = grads.get(x);
        grads.set(x, prev ? this.emit('add', [prev, dx]) : dx);
      });
    }
    return this.inputs.map((x) => grads.get(x));
  }

  /** Adds a node to the backward graph and returns its result. */
  emit(op: string, inputs: Value[], attrs: Attrs = {}): Value {
    return this.b.add(op, inputs, attrs, inputs[0]?.type.device).output;
  }

  /** Adds a node with several results, placed on `device`. */
  emitAll(op: string, inputs: Value[], attrs: Attrs, device: Device): readonly Value[] {
    return this.b.add(op, inputs, attrs, device).outputs;
  }

  /** A constant of `dtype` (by default `like`'s) holding `values`, on `like`'s device. */
  constant(shape: Shape, values: readonly number[], like: Value, dtype: DType = like.type.dtype): Value {
    return this.b.add('const', [], { value: hostTensor(dtype, shape, values) }, like.type.device).output;
  }

  /** A scalar constant of `like`'s dtype on its device. */
  scalar(x: number, like: Value): Value {
    return this.constant([], [x], like);
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

/** Host data of any dtype from numbers (f16 stored as its bits). */
export function hostTensor(dtype: DType, shape: Shape, values: readonly number[]): TensorData {
  return tensorData(dtype, shape, dtype === 'f16' ? toF16Array(values) : values);
}

/** A gradient rule: the gradient of each operand (undefined where it has none, e.g. integer operands). */
export type GradRule = (c: GradContext) => (Value | undefined)[];

/**
 * Runs node `n`'s rule on its operands and results (values of the graph being built) and the
 * results' gradients: an op without a rule, or an attribute value its rule did not read, is an
 * error naming them.
 */
export function applyRule(b: GraphRebuilder, rules: Readonly<Record<string, GradRule>>, n: Node, inputs: readonly Value[], outputs: readonly Value[], dys: readonly (Value | undefined)[]): (Value | undefined)[] {
  const rule = rules[n.op];
  if (!rule) {
    const why = NON_DIFFERENTIABLE[n.op];
    throw new KilnError(`differentiate: no gradient rule for ${n.op} (computing %${n.outputs[0]?.name} on the path to the loss)${why ? `: ${why}` : ''}`);
  }
  const ctx = new GradContext(b, rules, n, inputs, outputs, dys);
  const dxs = rule(ctx);
  const unread = ctx.unreadAttrs();
  if (unread.length) {
    throw new KilnError(`differentiate: the gradient rule of ${n.op} does not handle attribute ${unread.map((k) => `${k} = ${JSON.stringify(n.attrs[k])}`).join(', ')} (computing %${n.outputs[0]?.name})`);
  }
  return dxs;
}
