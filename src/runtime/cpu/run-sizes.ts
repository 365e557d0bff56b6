import { isGraphAttr, type AttrValue, type Attrs } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import { Graph, type Node, type Value } from '../../ir/graph.js';
import { instantiateGraph } from '../../ir/instantiate.js';
import { getOp } from '../../ir/ops/index.js';
import { dimText, evalDim, isSymbolic, steppedVar } from '../../ir/size-expr.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { dimsOf, formatShapeType, formatType, type TensorType } from '../../ir/types.js';
import { evaluateNode } from './executor.js';

/**
 * Runs a graph whose extents vary on the host (runOnCpu's path for such graphs): it binds the
 * sizes as it goes, from its inputs' shapes and from the results of data-dependent ops
 * (NonZero's count), and runs each node as the static node it is at those sizes.
 */
export function runAtRunSizes(graph: Graph, inputs: Record<string, TensorData>): Record<string, TensorData> {
  const sizes = new Map<string, number>();
  const env = new Map<Value, TensorData>();
  for (const v of graph.inputs) {
    const x = inputs[v.name];
    if (!x) throw new KilnError(`missing input '${v.name}' (${formatType(v.type)})`);
    if (x.dtype !== v.type.dtype) throw new KilnError(`input '${v.name}' expects ${formatType(v.type)}, got ${formatShapeType(x.dtype, x.shape)}`);
    bindShape(v, x, sizes, `input '${v.name}'`);
    env.set(v, x);
  }
  for (const node of graph.nodes) {
    const outs = evaluateNode(staticNode(node, node.inputs.map((v) => env.get(v)!), sizes), node.inputs.map((v) => env.get(v)!));
    node.outputs.forEach((v, i) => {
      bindShape(v, outs[i]!, sizes, `%${v.name} (${node.op})`);
      env.set(v, outs[i]!);
    });
  }
  return Object.fromEntries(graph.outputs.map((v) => [v.name, env.get(v)!]));
}

/**
 * Checks a tensor's shape against its value's extents, binding the sizes it is the first to
 * give (a size, W, or a multiple of one, 32*H, as the GPU runtime binds them) and checking the
 * others against the sizes bound so far.
 */
function bindShape(v: Value, x: TensorData, sizes: Map<string, number>, what: string): void {
  const dims = dimsOf(v.type);
  const bad = () => new KilnError(`${what} expects ${formatType(v.type)}, got ${formatShapeType(x.dtype, x.shape)}${sizes.size ? ` with ${[...sizes].map(([k, n]) => `${k} = ${n}`).join(', ')}` : ''}`);
  if (x.shape.length !== dims.length) throw bad();
  dims.forEach((d, k) => {
    const n = x.shape[k]!;
    const sv = steppedVar(d);
    if (sv && !sizes.has(sv.v.name)) {
      const [lo, hi] = [sv.v.min * sv.step, sv.v.max * sv.step];
      if (n < lo || n > hi) throw new KilnError(`${what}: dimension ${k} (${dimText(d)}) is ${n}, outside its range ${lo}..${hi}`);
      if (n % sv.step !== 0) throw new KilnError(`${what}: dimension ${k} (${dimText(d)}) is ${n}, not a multiple of ${sv.step}`);
      sizes.set(sv.v.name, n / sv.step);
    }
  });
  // Compound extents are checked once every size is bound (an input may give W after one reads floor(W/2)).
  dims.forEach((d, k) => {
    if (![...(isSymbolic(d) ? d.vars().keys() : [])].every((name) => sizes.has(name))) return;
    if (evalDim(d, sizes) !== x.shape[k]) throw bad();
  });
}

/** `node` as a node of fixed shapes: its operands' actual shapes, its results' at `sizes`. */
function staticNode(node: Node, operands: readonly TensorData[], sizes: ReadonlyMap<string, number>): Node {
  const g = new Graph(`${node.op}`);
  const ins = operands.map((x, i) => g.addInput(`in${i}`, { dtype: x.dtype, shape: x.shape, device: 'cpu' }));
  const attrs: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(node.attrs as Attrs)) attrs[k] = isGraphAttr(v) ? instantiateGraph(v, sizes) : v;
  // A data-dependent result's extent is not known before it is computed: its type is inferred (at its largest).
  const types = getOp(node.op).producesSize ? undefined : node.outputs.map((o): TensorType => ({ dtype: o.type.dtype, shape: dimsOf(o.type).map((d) => evalDim(d, sizes)), device: 'cpu' }));
  return g.addNode(node.op, ins, attrs, { device: 'cpu', ...(types ? { types } : {}) });
}
