import type { Graph } from './ir/graph.js';
import { verify } from './ir/verify.js';
import { generate } from './codegen/generate.js';
import { segment } from './codegen/segment.js';
import type { SegmentedProgram } from './runtime/segmented.js';
import { compileStats, type CompileStats } from './codegen/stats.js';
import { planGraphMemory, plannedBytes } from './codegen/plan-memory.js';
import { hasGpuLowering } from './codegen/lower/index.js';
import { anchorRoles } from './codegen/lower/anchors.js';
import type { KernelChooser } from './codegen/lower/lowering.js';
import { heuristicChooser, type AdapterClass } from './codegen/lower/heuristics.js';
import { runPasses, type PipelineOptions, type PipelineResult } from './passes/manager.js';
import type { PassContext } from './passes/pass.js';
import { resolvePipeline } from './passes/pipelines.js';
import type { Program } from './runtime/program.js';
import { evaluateNode } from './runtime/cpu/executor.js';

export interface CompileOptions extends PipelineOptions {
  /** A named pipeline ('O0', 'O2') or comma-separated pass names; default 'O2'. */
  readonly pipeline?: string;
  /** 'fp16' stores and computes floats in f16 (lower-fp16); default 'fp32'. */
  readonly precision?: 'fp32' | 'fp16';
  /** Dtype of float graph inputs and outputs under fp16; default 'f32'. */
  readonly ioPrecision?: 'f32' | 'f16';
  /**
   * 'int8' stores the constant weights of matmul, gemm and conv2d as int8 with per-channel scales;
   * 'int4' those of matmul and gemm as 4-bit codes in blocks of 32 rows (a scale and zero point
   * each), of conv2d as int8; default 'float'.
   */
  readonly weights?: 'float' | 'int8' | 'int4';
  /** Under int8 weights, weights of fewer elements stay float; default MIN_INT8_ELEMENTS (quantize-weights.ts says why). */
  readonly int8MinElements?: number;
  /** Kernel variants chosen by tuning (`kiln compile --tune`); a heuristic picks the rest. */
  readonly choose?: KernelChooser;
  /** The kind of adapter to pick kernel variants for when `choose` has no answer. */
  readonly adapterClass?: AdapterClass;
  /** Optional WebGPU features of that adapter: variants that need one (`subgroups`) are picked only where it is offered. */
  readonly adapterFeatures?: readonly string[];
  /** Storage buffers one shader may bind on that adapter; default 8, what WebGPU guarantees (see PipelinePrecision). */
  readonly maxStorageBuffers?: number;
  /**
   * Largest buffer one storage binding may hold on the devices the program is for, bytes;
   * default 128 MiB, WebGPU's default maxStorageBufferBindingSize. Weights above it are split.
   */
  readonly maxStorageBindingBytes?: number;
  readonly log?: (message: string) => void;
}

/** The context passes get: the CPU reference for folding, codegen's kernel list for placement, the binding limit. */
export function passContext(opts: Pick<CompileOptions, 'log' | 'maxStorageBindingBytes'> = {}): PassContext {
  const { log, maxStorageBindingBytes } = opts;
  return {
    evaluate: evaluateNode,
    hasGpuKernel: hasGpuLowering,
    anchorRoles,
    plannedBytes: (g) => plannedBytes(planGraphMemory(g)),
    ...(maxStorageBindingBytes !== undefined ? { maxStorageBindingBytes } : {}),
    ...(log ? { log } : {}),
  };
}

/** Verifies a graph and runs the optimisation pipeline on it. */
export function optimize(graph: Graph, opts: CompileOptions = {}): PipelineResult {
  verify(graph);
  // The precision decides whether the pipeline has lower-fp16 (see PIPELINES).
  return runPasses(graph, resolvePipeline(opts.pipeline ?? 'O2', opts), passContext(opts), opts);
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
  const { program, memory } = generate(optimized.graph, { choose: kernelChooser(opts) });
  return { ...optimized, program, stats: compileStats(graph, optimized.graph, program, memory) };
}

/**
 * Compiles a graph whose nodes sit on several devices (`.to('cpu')`, or ops without a WebGPU
 * kernel): segments per device, run by SegmentedSession, with the graph's transfers between them.
 */
export function compileSegmented(graph: Graph, opts: CompileOptions = {}): SegmentedProgram & { readonly graph: Graph } {
  const optimized = optimize(graph, opts).graph;
  return { ...segment(optimized, { choose: kernelChooser(opts) }), graph: optimized };
}

/** Whether some node of an optimised graph runs elsewhere than WebGPU device 0 (ops without a WebGPU kernel run on the CPU). */
export function isPlacedOnSeveralDevices(g: Graph): boolean {
  return g.nodes.some((n) => n.op === 'transfer' || n.outputs.some((o) => o.type.device !== 'webgpu'));
}

/**
 * Compiles a graph to what an artifact holds: one Program when the optimised graph runs on the
 * WebGPU device alone, else its segments (see compileSegmented).
 */
export function compileForArtifact(graph: Graph, opts: CompileOptions = {}): { readonly program: Program } | { readonly segmented: SegmentedProgram } {
  const optimized = optimize(graph, opts).graph;
  const ctx = { choose: kernelChooser(opts) };
  return isPlacedOnSeveralDevices(optimized) ? { segmented: segment(optimized, ctx) } : { program: generate(optimized, ctx).program };
}

/** Tuned kernel choices first, then the adapter class's heuristic. */
function kernelChooser(opts: CompileOptions): KernelChooser {
  const heuristic = heuristicChooser(opts.adapterClass, opts.adapterFeatures);
  return (f, sig, vs) => opts.choose?.(f, sig, vs) ?? heuristic(f, sig, vs);
}
