import type { Precision } from '../rows.js';
import type { Workload } from '../workloads.js';

/** Per-run counters a system knows itself (kiln's Session stats); cumulative. */
export interface OwnCounts {
  readonly dispatches: number;
  readonly submits: number;
}

/** A model loaded by a system, ready to run. */
export interface LoadedModel {
  /** Uploads the inputs, runs once, and resolves with the first output read back to the host. */
  run(inputs: ReadonlyMap<string, Float32Array>): Promise<ArrayLike<number>>;
  /** Cumulative counts the system keeps itself, where it keeps them. */
  ownCounts?(): OwnCounts;
  dispose(): Promise<void> | void;
}

/** A workload made ready for loading; the work done so far is not part of the cold time. */
export interface PreparedModel {
  /** kiln's ahead-of-time compile time (import and optimisation); null for the peers. */
  readonly compileMs: number | null;
  /** Creates the session (timed as part of the cold run). */
  load(): Promise<LoadedModel>;
}

/** A system the bench compares: kiln or a peer, each run in its own process. */
export interface BenchSystem {
  /** The id used in --only and in the rows (`kiln`, `ort-webgpu`, ...). */
  readonly id: string;
  /** The execution backend inside it, as the rows name it. */
  readonly backend: string;
  /**
   * Whether it runs on the WebGPU adapter through this process's Dawn (dawn.node), whose
   * dispatches, submits and readbacks the bench counts; false for the CPU peer, and for
   * onnxruntime-node's WebGPU EP, which brings a Dawn of its own (its counts are unknown).
   */
  readonly onBenchDawn: boolean;
  /** Imports the runtime and acquires its device; resolves with the adapter's description. */
  init(): Promise<string>;
  /** Why this system does not run `w` at `p`, or null when it does. */
  unsupported(w: Workload, p: Precision): string | null;
  /** Builds the model for `w` (untimed: tracing, export, kiln's AOT compile). */
  prepare(w: Workload, p: Precision): Promise<PreparedModel>;
  /** Facts worth printing under the table (runtime versions, threads, workarounds taken). */
  notes?(): string[];
  /** Frees the device (kiln's tests run the kiln system in-process). */
  close(): Promise<void>;
}

/** Thrown by prepare() when the system cannot (yet) run a workload: the row is skipped with the message. */
export class SkipWorkload extends Error {
  override name = 'SkipWorkload';
}
