import type { Node } from '../ir/graph.js';
import type { Graph } from '../ir/graph.js';
import type { TensorData } from '../ir/tensor-data.js';
import type { AnchorRoles } from '../ir/fusion.js';

/** What passes may use beyond the graph; the compiler provides it (passes import only ir/). */
export interface PassContext {
  /** Computes a node on host data (the CPU reference), for constant folding. */
  readonly evaluate?: (node: Node, inputs: readonly TensorData[]) => TensorData[];
  /** What an op's kernel accepts around it when it anchors fused work (conv, matmul, reductions...), for fusion. */
  readonly anchorRoles?: (op: string) => AnchorRoles | undefined;
  /** Whether an op has a WebGPU kernel, for device placement. */
  readonly hasGpuKernel?: (op: string) => boolean;
  /** Bytes codegen's memory plan gives a graph's intermediates, so scheduling can weigh orders by it. */
  readonly plannedBytes?: (graph: Graph) => number;
  /** Largest buffer one storage binding may hold on the target device, bytes (split-weights splits weights above it). */
  readonly maxStorageBindingBytes?: number;
  /** Progress and diagnostics. */
  readonly log?: (message: string) => void;
}

/** A named graph rewrite: takes a graph, returns the rewritten graph (possibly the same object). */
export interface Pass {
  readonly name: string;
  /** One line for `--help` and dumps. */
  readonly description: string;
  run(graph: Graph, ctx: PassContext): Graph;
}
