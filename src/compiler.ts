import type { Graph } from './ir/graph.js';
import { verify } from './ir/verify.js';
import { generate } from './codegen/generate.js';
import { compileStats, type CompileStats } from './codegen/stats.js';
import { hasGpuLowering } from './codegen/lower/index.js';
import { anchorLowerings } from './codegen/lower/fused.js';
import { runPasses, type PipelineOptions, type PipelineResult } from './passes/manager.js';
import type { PassContext } from './passes/pass.js';
import { resolvePipeline } from './passes/pipelines.js';
import type { Program } from './runtime/program.js';
import { evaluateNode } from './runtime/cpu/executor.js';

export interface CompileOptions extends PipelineOptions {
  /** A named pipeline ('O0', 'O2') or comma-separated pass names; default 'O2'. */
  readonly pipeline?: string;
  readonly log?: (message: string) => void;
}

/** The context passes get: the CPU reference for folding, codegen's kernel list for placement. */
function passContext(log?: (m: string) => void): PassContext {
  return {
    evaluate: evaluateNode,
    hasGpuKernel: hasGpuLowering,
    takesEpilogue: (op) => op in anchorLowerings,
    ...(log ? { log } : {}),
  };
}

/** Verifies a graph and runs the optimisation pipeline on it. */
export function optimize(graph: Graph, opts: CompileOptions = {}): PipelineResult {
  verify(graph);
  return runPasses(graph, resolvePipeline(opts.pipeline ?? 'O2'), passContext(opts.log), opts);
}

/** Compiles a graph to a Program: verify, optimise, lower to WGSL kernels and a schedule. */
export function compile(graph: Graph, opts: CompileOptions = {}): Program {
  return compileWithReport(graph, opts).program;
}

export interface CompileReport extends PipelineResult {
  readonly program: Program;
  readonly stats: CompileStats;
}

/** compile, also returning the optimised graph, pass timings and statistics. */
export function compileWithReport(graph: Graph, opts: CompileOptions = {}): CompileReport {
  const optimized = optimize(graph, opts);
  const { program, memory } = generate(optimized.graph);
  return { ...optimized, program, stats: compileStats(graph, optimized.graph, program, memory) };
}
