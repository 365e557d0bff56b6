import type { Node } from '../ir/graph.js';
import type { Graph } from '../ir/graph.js';
import type { TensorData } from '../ir/tensor-data.js';
import type { View } from '../ir/view.js';

/** What passes may use beyond the graph; the compiler provides it (passes import only ir/). */
export interface PassContext {
  /** Computes a node on host data (the CPU reference), for constant folding. */
  readonly evaluate?: (node: Node, inputs: readonly TensorData[]) => TensorData[];
  /** Whether an op's kernel takes a fused elementwise epilogue (conv, matmul), for fusion. */
  readonly takesEpilogue?: (op: string) => boolean;
  /** Whether an op's kernel can read operand `input` through `view` instead of a copy, for fusion. */
  readonly readsView?: (op: string, input: number, view: View) => boolean;
  /** Whether an op's kernel computes in f32 whatever it reads, so an f16->f32 cast before it can fuse away. */
  readonly readsWidened?: (op: string) => boolean;
  /** Whether an op's kernel converts its first operand as it loads it, so an f32 -> f16 cast of a graph input before it can fuse away. */
  readonly readsNarrowed?: (op: string) => boolean;
  /** Whether an op has a WebGPU kernel, for device placement. */
  readonly hasGpuKernel?: (op: string) => boolean;
  /** Bytes codegen's memory plan gives a graph's intermediates, so scheduling can weigh orders by it. */
  readonly plannedBytes?: (graph: Graph) => number;
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
