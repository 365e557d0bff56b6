import { KilnError } from '../../ir/errors.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import { formatType, isFloat, numel } from '../../ir/types.js';
import { GraphRebuilder } from '../rebuild.js';
import { applyRule, hostTensor } from './grad-context.js';
import { gradRules } from './rules.js';

export interface DifferentiateOptions {
  /** Name of the value to differentiate (a scalar loss; other shapes are seeded with ones). */
  readonly loss: string;
  /** Names of the values (usually graph inputs: parameters) to differentiate with respect to. */
  readonly wrt: readonly string[];
}

/** Name of the gradient output for value `name`. */
export const gradName = (name: string) => `grad.${name}`;

/**
 * Reverse-mode autodiff: returns the graph extended by its backward pass, whose outputs are the
 * original outputs followed by d(loss)/d(w) for each `wrt`, named `grad.<name>`. Only nodes on a
 * path from some `wrt` to the loss are differentiated; an op without a gradient rule there is an
 * error naming it.
 */
export function differentiate(g: Graph, opts: DifferentiateOptions): Graph {
  const byName = new Map(g.values().map((v) => [v.name, v]));
  const find = (name: string, what: string) => {
    const v = byName.get(name);
    if (!v) throw new KilnError(`differentiate: ${what} %${name} is not a value of graph ${g.name}`);
    if (!isFloat(v.type.dtype)) throw new KilnError(`differentiate: ${what} %${name} is ${formatType(v.type)}; gradients need floats`);
    return v;
  };
  const loss = find(opts.loss, 'loss');
  const wrt = opts.wrt.map((n) => find(n, 'wrt'));

  // Nodes that depend on a wrt value and that the loss depends on.
  const fromWrt = new Set<Value>(wrt);
  for (const n of g.nodes) if (n.inputs.some((v) => fromWrt.has(v))) for (const o of n.outputs) fromWrt.add(o);
  const toLoss = new Set<Value>([loss]);
  const relevant: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => toLoss.has(o))) continue;
    for (const v of n.inputs) toLoss.add(v);
    if (n.outputs.some((o) => fromWrt.has(o))) relevant.push(n);
  }

  const b = new GraphRebuilder(g);
  for (const n of g.nodes) b.copy(n);
  const grads = new Map<Value, Value>();
  const lossNew = b.get(loss);
  grads.set(loss, b.add('const', [], { value: hostTensor(loss.type.dtype, loss.type.shape, new Array(numel(loss.type.shape)).fill(1)) }, lossNew.type.device).output);
  for (const n of relevant) {
    if (!n.outputs.some((o) => grads.has(o))) continue;
    const dxs = applyRule(b, gradRules, n, n.inputs.map((v) => b.get(v)), n.outputs.map((v) => b.get(v)), n.outputs.map((o) => grads.get(o)));
    n.inputs.forEach((x, i) => {
      const dx = dxs[i];
      if (!dx || !isFloat(x.type.dtype) || !(fromWrt.has(x))) return;
      const prev = grads.get(x);
      grads.set(x, prev ? b.add('add', [prev, dx], {}, dx.type.device).output : dx);
    });
  }
  const out = b.finish();
  // Each gradient output is its own value (a free, aliasing reshape), so names never collide.
  const gradOutputs = wrt.map((w) => {
    const gv = grads.get(w) ?? b.add('const', [], { value: hostTensor(w.type.dtype, w.type.shape, new Array(numel(w.type.shape)).fill(0)) }, w.type.device).output;
    const named = out.addNode('reshape', [gv], { shape: [...w.type.shape] }, { names: [gradName(w.name)] });
    return named.output;
  });
  out.setOutputs([...out.outputs, ...gradOutputs]);
  return out;
}
