import { KilnError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import type { TensorData } from '../ir/tensor-data.js';
import { runOnCpu } from './cpu/executor.js';
import type { GpuDevice } from './device.js';
import type { Program } from './program.js';
import { Session } from './session.js';
import type { SessionOptions, SessionStats } from './session-options.js';

/**
 * A model placed on several devices, as segments in execution order: a WebGPU segment is a
 * compiled Program for WebGPU device `index` (0 for a graph on one GPU), a CPU segment a graph
 * the reference executor runs. Values cross between segments by name; each crossing is one of
 * the graph's `transfer` nodes (`aliases` maps a transfer's result to the value it moves).
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
  | { readonly device: 'webgpu'; readonly index: number; readonly program: Program }
  | { readonly device: 'cpu'; readonly graph: Graph };

/**
 * Runs a SegmentedProgram: one Session per WebGPU segment, on the device its index names, and the
 * CPU reference for the rest. Each segment starts as soon as the segments it reads from are done,
 * so segments on different devices whose inputs are ready run at the same time, each on its own
 * device's queue. A value crossing between two GPU devices is read back and uploaded (WebGPU
 * devices share no memory).
 */
export class SegmentedSession {
  private constructor(readonly program: SegmentedProgram, private readonly sessions: (Session | undefined)[]) {}

  /** `gpus[i]` is WebGPU device i; one device serves a program on one GPU. `opts` go to every WebGPU segment's Session. */
  static async create(gpus: GpuDevice | readonly GpuDevice[], program: SegmentedProgram, opts: SessionOptions = {}): Promise<SegmentedSession> {
    const byIndex = Array.isArray(gpus) ? gpus : [gpus as GpuDevice];
    for (const s of program.segments) {
      if (s.device === 'webgpu' && !byIndex[s.index]) {
        throw new KilnError(`${program.name} has a segment on webgpu:${s.index}, but ${byIndex.length} WebGPU device(s) were given (webgpu:0 to webgpu:${byIndex.length - 1})`);
      }
    }
    const sessions: (Session | undefined)[] = [];
    try {
      for (const [i, s] of program.segments.entries()) {
        const label = opts.label === undefined ? {} : { label: `${opts.label}.${i}` };
        sessions.push(s.device === 'webgpu' ? await Session.create(byIndex[s.index]!, s.program, { ...opts, ...label }) : undefined);
      }
    } catch (e) {
      for (const s of sessions) s?.destroy();
      throw e;
    }
    return new SegmentedSession(program, sessions);
  }

  /** Transfers made so far: uploads into and readbacks out of WebGPU segments between segments. */
  transfersMade = 0;

  private runs = 0;

  /** What its WebGPU segments' sessions created and did, summed; `runs` counts runs of the whole program. */
  get stats(): Readonly<SessionStats> {
    const total: SessionStats = { pipelinesCreated: 0, shaderModulesCreated: 0, buffersCreated: 0, bindGroupsCreated: 0, weightBytesUploaded: 0, weightUploads: 0, runs: this.runs, submits: 0 };
    for (const s of this.sessions) {
      if (!s) continue;
      for (const k of Object.keys(total) as (keyof SessionStats)[]) if (k !== 'runs') total[k] += s.stats[k];
    }
    return total;
  }

  /** Runs every segment once its inputs are there; values cross devices only through the graph's transfers. */
  async run(inputs: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>> {
    const env = new Map<string, TensorData>();
    for (const name of this.program.inputs) {
      const x = inputs[name];
      if (!x) throw new KilnError(`missing input '${name}' of ${this.program.name}`);
      env.set(name, x);
    }
    const source = (name: string): string => {
      let n = name;
      while (this.program.aliases[n] !== undefined) n = this.program.aliases[n]!;
      return n;
    };
    const resolve = (name: string) => {
      const v = env.get(source(name));
      if (!v) throw new Error(`internal: segment value '${name}' was never computed`);
      return v;
    };
    const inputNames = (seg: Segment): string[] => (seg.device === 'webgpu' ? seg.program.inputs.map((b) => b.name) : seg.graph.inputs.map((v) => v.name));
    const outputNames = (seg: Segment): string[] => (seg.device === 'webgpu' ? seg.program.outputs.map((b) => b.name) : seg.graph.outputs.map((v) => v.name));
    // Which segment computes each value, so a segment waits for exactly the ones it reads.
    const producer = new Map<string, number>();
    this.program.segments.forEach((seg, i) => { for (const n of outputNames(seg)) producer.set(n, i); });
    const done: Promise<void>[] = [];
    for (const [i, seg] of this.program.segments.entries()) {
      const deps = [...new Set(inputNames(seg).flatMap((n) => { const p = producer.get(source(n)); return p === undefined ? [] : [p]; }))];
      done.push(Promise.all(deps.map((d) => done[d]!)).then(async () => {
        const feeds = Object.fromEntries(inputNames(seg).map((n) => [n, resolve(n)]));
        const outs = seg.device === 'webgpu' ? await this.sessions[i]!.run(feeds) : runOnCpu(seg.graph, feeds);
        for (const [k, v] of Object.entries(outs)) env.set(k, v);
      }));
    }
    await Promise.all(done);
    this.transfersMade += this.program.transfers;
    this.runs++;
    return Object.fromEntries(this.program.outputs.map((n) => [n, resolve(n)]));
  }

  destroy(): void {
    for (const s of this.sessions) s?.destroy();
  }
}
