import { KilnError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import type { TensorData } from '../ir/tensor-data.js';
import { runOnCpu } from './cpu/executor.js';
import type { GpuDevice } from './device.js';
import type { Program } from './program.js';
import { Session } from './session.js';

/**
 * A model placed on several devices, as segments run in order: a WebGPU segment is a compiled
 * Program, a CPU segment a graph the reference executor runs. Values cross between segments by
 * name; each crossing is one of the graph's `transfer` nodes (`aliases` maps a transfer's result
 * to the value it moves).
 */
export interface SegmentedProgram {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly segments: readonly Segment[];
  /** Result of a transfer -> the name of the value it moves. */
  readonly aliases: Readonly<Record<string, string>>;
  /** How many transfers one run makes. */
  readonly transfers: number;
}

export type Segment =
  | { readonly device: 'webgpu'; readonly program: Program }
  | { readonly device: 'cpu'; readonly graph: Graph };

/** Runs a SegmentedProgram: one Session per WebGPU segment, the CPU reference for the rest. */
export class SegmentedSession {
  private constructor(readonly program: SegmentedProgram, private readonly sessions: (Session | undefined)[]) {}

  static async create(gpu: GpuDevice, program: SegmentedProgram): Promise<SegmentedSession> {
    const sessions: (Session | undefined)[] = [];
    try {
      for (const s of program.segments) sessions.push(s.device === 'webgpu' ? await Session.create(gpu, s.program) : undefined);
    } catch (e) {
      for (const s of sessions) s?.destroy();
      throw e;
    }
    return new SegmentedSession(program, sessions);
  }

  /** Transfers made so far: uploads into and readbacks out of WebGPU segments between segments. */
  transfersMade = 0;

  /** Runs every segment in order; values cross devices only through the graph's transfers. */
  async run(inputs: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>> {
    const env = new Map<string, TensorData>();
    for (const name of this.program.inputs) {
      const x = inputs[name];
      if (!x) throw new KilnError(`missing input '${name}' of ${this.program.name}`);
      env.set(name, x);
    }
    const resolve = (name: string) => {
      let n = name;
      while (!env.has(n) && this.program.aliases[n]) n = this.program.aliases[n]!;
      const v = env.get(n);
      if (!v) throw new Error(`internal: segment value '${name}' was never computed`);
      return v;
    };
    for (const [i, seg] of this.program.segments.entries()) {
      if (seg.device === 'webgpu') {
        const feeds = Object.fromEntries(seg.program.inputs.map((b) => [b.name, resolve(b.name)]));
        const outs = await this.sessions[i]!.run(feeds);
        for (const [k, v] of Object.entries(outs)) env.set(k, v);
      } else {
        const feeds = Object.fromEntries(seg.graph.inputs.map((v) => [v.name, resolve(v.name)]));
        for (const [k, v] of Object.entries(runOnCpu(seg.graph, feeds))) env.set(k, v);
      }
    }
    this.transfersMade += this.program.transfers;
    return Object.fromEntries(this.program.outputs.map((n) => [n, resolve(n)]));
  }

  destroy(): void {
    for (const s of this.sessions) s?.destroy();
  }
}
