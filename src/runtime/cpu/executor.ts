import type { Graph, Node, Value } from '../../ir/graph.js';
import { KilnError } from '../../ir/errors.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { formatShapeType, isDynamic, shapesEqual } from '../../ir/types.js';
import { runAtRunSizes } from './run-sizes.js';
import { cpuKernelFor } from './kernels/index.js';
import { attrsOf } from '../../ir/attrs.js';
import { fusedAttrs } from '../../ir/ops/fused.js';
import { subgraphKernels } from './control-flow.js';

/**
 * Runs a graph on the host with the reference kernels: the `cpu` device and the oracle
 * every GPU kernel is tested against. Devices in the graph are ignored here. A graph whose
 * extents vary runs at the sizes its inputs and its data-dependent ops give (runAtRunSizes).
 */
export function runOnCpu(graph: Graph, inputs: Record<string, TensorData>): Record<string, TensorData> {
  if (graph.inputs.some((v) => isDynamic(v.type)) || graph.nodes.some((n) => n.outputs.some((v) => isDynamic(v.type)))) return runAtRunSizes(graph, inputs);
  const env = new Map<Value, TensorData>();
  for (const v of graph.inputs) {
    const x = inputs[v.name];
    if (!x) throw new KilnError(`missing input '${v.name}' (${formatShapeType(v.type.dtype, v.type.shape)})`);
    if (x.dtype !== v.type.dtype || !shapesEqual(x.shape, v.type.shape)) {
      throw new KilnError(`input '${v.name}' expects ${formatShapeType(v.type.dtype, v.type.shape)}, got ${formatShapeType(x.dtype, x.shape)}`);
    }
    env.set(v, x);
  }
  for (const node of graph.nodes) {
    const outs = evaluateNode(node, node.inputs.map((v) => env.get(v)!));
    node.outputs.forEach((v, i) => env.set(v, outs[i]!));
  }
  const result: Record<string, TensorData> = {};
  for (const v of graph.outputs) result[v.name] = env.get(v)!;
  return result;
}

/** Computes one node on host data (a fused node runs its body; loop and if run their subgraphs). */
export function evaluateNode(node: Node, inputs: readonly TensorData[]): TensorData[] {
  if (node.op === 'fused') return runBody(attrsOf(node, fusedAttrs).body, inputs);
  const withSubgraphs = subgraphKernels[node.op];
  return withSubgraphs ? withSubgraphs(node, inputs, runBody) : cpuKernelFor(node.op)(node, inputs);
}

/** A closed subgraph (a fused body, a loop body, an if branch) computed on its operands. */
function runBody(body: Graph, inputs: readonly TensorData[]): TensorData[] {
  const feeds = Object.fromEntries(body.inputs.map((p, i) => [p.name, inputs[i]!]));
  const out = runOnCpu(body, feeds);
  return body.outputs.map((v) => out[v.name]!);
}
