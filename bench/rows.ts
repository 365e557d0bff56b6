// What the bench measures: one row per (workload, system, precision), as written to
// bench/results.json. Figures that do not apply or cannot be had are null.

export type Precision = 'fp32' | 'fp16';

/** One measured (or skipped) combination; the fields up to `readbacks` are the documented format. */
export interface BenchRow {
  readonly workload: string;
  readonly system: string;
  /** The adapter the system ran on (the WebGPU adapter's description, or the CPU for CPU systems). */
  readonly adapter: string;
  readonly precision: Precision;
  /** First run in this process: model load (session creation) plus the first inference. */
  readonly coldMs: number | null;
  readonly warmMedianMs: number | null;
  readonly warmMinMs: number | null;
  readonly warmMaxMs: number | null;
  /** Number of timed warm runs. */
  readonly runs: number;
  /** Useful floating-point work per warm run / median warm time (only where the FLOPs are known). */
  readonly gflops: number | null;
  /** Per warm run: compute dispatches, queue submits, buffer readbacks (mapAsync for reading). */
  readonly dispatches: number | null;
  readonly submits: number | null;
  readonly readbacks: number | null;
  /** The execution backend inside the system (e.g. "WebGPU EP", "JSEP", "CPU EP, 1 thread"). */
  readonly backend: string;
  /** Process start to the first output of a trivial one-op model: imports, device, runtime init. */
  readonly startupMs: number | null;
  /** kiln only: ahead-of-time compile (import and optimisation to a Program), not part of coldMs. */
  readonly compileMs: number | null;
  /** Median of each trial's timed runs, in trial order (trials interleave the systems). */
  readonly trialMediansMs: number[];
  /** With --contention: the same figures of the runs made beside a busy-looping process, trial by trial after the quiet ones. */
  readonly busy: WarmFigures | null;
  /** Largest |difference| from kiln fp32's output on the same inputs (sampled elements); null for kiln fp32 itself. */
  readonly maxAbsDiffVsKiln: number | null;
  /** Why the row has no figures, when it has none. */
  readonly skipped: string | null;
  readonly error: string | null;
}

/** Warm figures of a set of trials' timed runs. */
export interface WarmFigures {
  readonly warmMedianMs: number;
  readonly warmMinMs: number;
  readonly warmMaxMs: number;
  readonly runs: number;
  readonly trialMediansMs: number[];
}

/** A row as a child process reports it: with a sample of the output for the parent's cross-check. */
export interface ChildRow extends Omit<BenchRow, 'maxAbsDiffVsKiln'> {
  readonly outputSample: OutputSample | null;
}

/** Evenly spaced elements of the first output, plus its length, to compare systems cheaply. */
export interface OutputSample {
  readonly length: number;
  readonly indices: number[];
  readonly values: number[];
}

/** What a child process writes to its result file (rewritten after every workload). */
export interface ChildReport {
  readonly system: string;
  readonly adapter: string;
  readonly backend: string;
  readonly startupMs: number | null;
  readonly notes: string[];
  readonly rows: ChildRow[];
}

const SAMPLE_COUNT = 64;

/** Samples `data` at up to 64 evenly spaced indices. */
export function sampleOutput(data: ArrayLike<number>): OutputSample {
  const n = data.length;
  const count = Math.min(n, SAMPLE_COUNT);
  const indices = Array.from({ length: count }, (_, i) => Math.floor((i * n) / count));
  return { length: n, indices, values: indices.map((i) => Number(data[i])) };
}

/** Largest |a - b| over the shared sample, or null when the samples are not comparable. */
export function sampleDiff(a: OutputSample, b: OutputSample): number | null {
  if (a.length !== b.length || a.indices.length !== b.indices.length) return null;
  let worst = 0;
  for (let i = 0; i < a.values.length; i++) {
    const d = Math.abs(a.values[i]! - b.values[i]!);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, d);
  }
  return worst;
}
