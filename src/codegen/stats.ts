import type { Graph } from '../ir/graph.js';
import type { Program } from '../runtime/program.js';
import { plannedBytes, type MemoryPlan } from './plan-memory.js';

/** What `kiln compile --stats` reports about a compiled model. */
export interface CompileStats {
  /** Ops of the graph before optimisation (constants not counted). */
  readonly opsBefore: number;
  /** Ops after optimisation (a fused node counts once). */
  readonly opsAfter: number;
  /** Distinct WGSL shaders. */
  readonly shaders: number;
  readonly dispatchesPerRun: number;
  readonly transfersPerRun: number;
  readonly weightBytes: number;
  /** Device bytes of intermediates: as planned, and with one buffer per value. */
  readonly scratchBytesPlanned: number;
  readonly scratchBytesNaive: number;
  /** Every device buffer of the program (inputs, outputs, weights, scratch). */
  readonly deviceBytesPlanned: number;
  readonly deviceBytesNaive: number;
}

const countOps = (g: Graph) => g.nodes.filter((n) => n.op !== 'const').length;

/** Statistics of a compiled program, from the graph before and after the passes. */
export function compileStats(before: Graph, after: Graph, program: Program, memory: MemoryPlan): CompileStats {
  const planned = plannedBytes(memory);
  const total = program.buffers.reduce((a, b) => a + b.bytes, 0);
  return {
    opsBefore: countOps(before),
    opsAfter: countOps(after),
    shaders: program.kernels.length,
    dispatchesPerRun: program.dispatches.length,
    transfersPerRun: after.nodes.filter((n) => n.op === 'transfer').length,
    weightBytes: program.weights.byteLength,
    scratchBytesPlanned: planned,
    scratchBytesNaive: memory.naiveBytes,
    deviceBytesPlanned: total,
    deviceBytesNaive: total - planned + memory.naiveBytes,
  };
}

const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

/** The stats as aligned lines for the terminal. */
export function formatStats(s: CompileStats): string {
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(0)}%` : '-');
  return [
    `ops:                ${s.opsBefore} before passes, ${s.opsAfter} after`,
    `kernels:            ${s.dispatchesPerRun} dispatches per run (${pct(s.dispatchesPerRun, s.opsBefore)} of the ops before), ${s.shaders} distinct shaders`,
    `transfers per run:  ${s.transfersPerRun}`,
    `weights:            ${kib(s.weightBytes)}`,
    `intermediates:      ${kib(s.scratchBytesPlanned)} planned vs ${kib(s.scratchBytesNaive)} naive, one buffer each (${pct(s.scratchBytesPlanned, s.scratchBytesNaive)})`,
    `peak device memory: ${kib(s.deviceBytesPlanned)} planned vs ${kib(s.deviceBytesNaive)} naive (${pct(s.deviceBytesPlanned, s.deviceBytesNaive)}; `
      + `weights, inputs and outputs take ${kib(s.deviceBytesPlanned - s.scratchBytesPlanned)} in both)`,
  ].join('\n');
}
