// The reference executor's run of the ops that hold subgraphs decided at run time (loop, if;
// see ir/ops/control-flow.ts): it runs their subgraphs with the executor that runs the node.
import { attrsOf } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import { ifAttrs, loopAttrs } from '../../ir/ops/control-flow.js';
import { tensorData, type TensorData } from '../../ir/tensor-data.js';
import { allocTyped, numel, type TensorType } from '../../ir/types.js';

/** Runs a closed subgraph on operands given in the order of its parameters; gives its results in order. */
export type RunSubgraph = (g: Graph, inputs: readonly TensorData[]) => TensorData[];

/** A kernel of an op holding subgraphs: as a CPU kernel, given the executor that runs subgraphs. */
export type SubgraphKernel = (node: Node, inputs: readonly TensorData[], run: RunSubgraph) => TensorData[];

/**
 * ONNX Loop: before each iteration, stops when the iteration number reaches the trip count or
 * the condition is false; an iteration gives the next condition and carried values, and one
 * slice of each scan output. The body's condition operand is the condition that let it run.
 */
const loop: SubgraphKernel = (node, inputs, run) => {
  const { body, carried: n, max_trips: maxTrips } = attrsOf(node, loopAttrs);
  const trips = inputs[0]!.data[0]!;
  let go = inputs[1]!.data[0] !== 0;
  let carried = inputs.slice(2, 2 + n);
  const outside = inputs.slice(2 + n);
  const scanTypes = body.outputs.slice(1 + n).map((v) => v.type);
  const slices: TensorData[][] = scanTypes.map(() => []);
  for (let i = 0; i < trips && go; i++) {
    if (scanTypes.length > 0 && i >= maxTrips) {
      throw new KilnError(`loop: its scan outputs are sized for at most ${maxTrips} iterations, and the loop goes on past them (trip count ${trips}, condition still true)`);
    }
    const outs = run(body, [tensorData('i32', [], [i]), tensorData('bool', [], [1]), ...carried, ...outside]);
    go = outs[0]!.data[0] !== 0;
    carried = outs.slice(1, 1 + n);
    outs.slice(1 + n).forEach((s, k) => slices[k]!.push(s));
  }
  return [...carried, ...scanTypes.map((t, k) => stack(slices[k]!, t))];
};

/** Slices of one type stacked along a new leading extent (their count, 0 included). */
function stack(slices: readonly TensorData[], t: TensorType): TensorData {
  const size = numel(t.shape);
  const data = allocTyped(t.dtype, slices.length * size);
  slices.forEach((s, i) => (data as Float32Array).set(s.data as Float32Array, i * size));
  return { dtype: t.dtype, shape: [slices.length, ...t.shape], data } as TensorData;
}

/** ONNX If: runs the branch the condition picks; only that branch is computed. */
const ifKernel: SubgraphKernel = (node, inputs, run) => {
  const { then_branch: thenG, else_branch: elseG } = attrsOf(node, ifAttrs);
  return run(inputs[0]!.data[0] !== 0 ? thenG : elseG, inputs.slice(1));
};

/** The kernels of ops that hold subgraphs, by op name. */
export const subgraphKernels: Readonly<Record<string, SubgraphKernel>> = { loop, if: ifKernel };
