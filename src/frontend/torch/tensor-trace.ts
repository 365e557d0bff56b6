import type { Attrs } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import type { Graph, Value } from '../../ir/graph.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { formatShapeType, type Device } from '../../ir/types.js';
import type { DeviceLike } from './devices.js';
import { Tensor } from './tensor-core.js';

// How tensors enter a graph being traced: a symbolic tensor is its value; a concrete one becomes
// a constant of the graph (once per graph), unless bound to a value of the graph.

/** Each traced graph's constants, so one concrete tensor becomes one const node. */
const constants = new WeakMap<Graph, Map<Tensor, Value>>();

/**
 * @internal Makes concrete tensor `t` stand for value `v` inside trace graph `g` instead of
 * becoming a constant (a compiled training step's parameters are graph inputs).
 */
export function bindTraceValue(g: Graph, t: Tensor, v: Value): void {
  let cache = constants.get(g);
  if (!cache) constants.set(g, (cache = new Map()));
  cache.set(t, v);
}

/** The methods this file adds to Tensor (exported so that their declarations name Tensor). */
export const traceMethods = {
  /**
   * The graph value for this tensor inside `g`; a concrete tensor becomes a constant on
   * `device`, the device of the traced graph.
   */
  valueIn(this: Tensor, g: Graph, device: Device): Value {
    if (this.isSymbolic) {
      if (this.traceGraph !== g) throw new KilnError('tensors from two different traces meet in one operation');
      return this.value;
    }
    let cache = constants.get(g);
    if (!cache) constants.set(g, (cache = new Map()));
    const hit = cache.get(this);
    if (hit) return hit;
    const attrs: Record<string, unknown> = { value: traceData(this) };
    if (this.paramName) attrs.ref = this.paramName;
    const v = g.addNode('const', [], attrs as Attrs, { device }).output;
    cache.set(this, v);
    return v;
  },

  /** A tensor of the same device (and trace) holding `data`: how number operands enter an op. */
  constantLike(this: Tensor, data: TensorData): Tensor {
    const g = this.traceGraph;
    if (g) return Tensor.symbolic(g, g.addNode('const', [], { value: data }, { device: this.value.type.device }).output, this);
    return Tensor.fromData(data, this.deviceName as DeviceLike);
  },
};

type TraceMethods = typeof traceMethods;

declare module './tensor-core.js' {
  interface Tensor extends TraceMethods {}
}

Object.assign(Tensor.prototype, traceMethods);

/** The values trace embeds as a constant: a CPU tensor's, or the host data a webgpu one was uploaded from. */
function traceData(t: Tensor): TensorData {
  t.assertConcrete('trace');
  const host = t.knownHostData();
  if (host) return host;
  const what = t.paramName ? `parameter '${t.paramName}'` : `a ${formatShapeType(t.dtype, t.shape)} tensor`;
  throw new KilnError(
    `trace: ${what} exists only on ${t.deviceName} (it was computed there), so its values cannot be embedded ` +
    `in the graph; read it back first (\`await t.to('cpu')\`, or \`await model.to('cpu')\` for a model)`,
  );
}
