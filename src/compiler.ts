import type { Graph } from './ir/graph.js';
import { verify } from './ir/verify.js';
import { generateProgram } from './codegen/generate.js';
import type { Program } from './runtime/program.js';

/** Compiles a graph to a Program: verify, then lower to WGSL kernels and a schedule. */
export function compile(graph: Graph): Program {
  verify(graph);
  return generateProgram(graph);
}
