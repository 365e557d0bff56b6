// Runs the workloads on one system inside the current process, in steps a driver can interleave
// with other systems (bench/main.ts drives one child per system, trial by trial): start-up, then
// per workload a cold run (load + first run) and untimed warm-ups, then timed trials.
import { performance } from 'node:perf_hooks';
import { gpuCounts, installGpuCounters, type GpuCounts } from './dawn/gpu-counters.js';
import { sampleOutput, type WarmFigures, type ChildReport, type ChildRow, type OutputSample, type Precision } from './rows.js';
import { summarize } from './stats.js';
import { precisionsFor, type SystemId } from './systems/index.js';
import { SkipWorkload, type BenchSystem, type LoadedModel } from './systems/types.js';
import { STARTUP_WORKLOAD, workloadInputs, type Workload } from './workloads.js';

export interface RunSystemOptions {
  /** Timed warm runs per row. */
  readonly runs: number;
  /** Untimed runs between the cold run and the timed ones. */
  readonly warmup: number;
  /** Progress lines (to stderr in the bench). */
  readonly log?: (message: string) => void;
  /** Called with the report so far after start-up and after every row. */
  readonly onProgress?: (report: ChildReport) => void;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);

/** What start-up found: the adapter and the start-up time, or why it failed. */
export interface StartResult {
  readonly adapter: string;
  readonly startupMs: number | null;
  readonly error: string | null;
}

/** A loaded (workload, precision): its row so far (cold figures, or why it has none). */
export interface LoadResult {
  readonly row: ChildRow;
  /** The last untimed run's time (or the cold run's), to size the trials; null without a model. */
  readonly warmEstimateMs: number | null;
}

/** One trial: `runs` timed runs back to back, with per-run counts and the last output's sample. */
export interface TrialResult {
  readonly times: number[];
  readonly dispatches: number | null;
  readonly submits: number | null;
  readonly readbacks: number | null;
  readonly sample: OutputSample;
  /** Set when the system's own counts disagree with the WebGPU call counts. */
  readonly countNote: string | null;
}

interface Loaded {
  readonly model: LoadedModel;
  readonly inputs: Map<string, Float32Array>;
}

/** One system in this process, driven step by step; never throws for a workload's failure. */
export class SystemDriver {
  private adapter = 'unknown';
  private startupMs: number | null = null;
  private startError: string | null = null;
  private readonly loaded = new Map<string, Loaded>();
  private readonly extraNotes: string[] = [];

  constructor(private readonly system: BenchSystem, private readonly log: (m: string) => void = () => {}) {}

  /** Imports the runtime, acquires the device and runs the one-op model (start-up ends at its output). */
  async start(): Promise<StartResult> {
    // Before any device exists: kiln's device captures queue.submit when it is created.
    if (this.system.onBenchDawn) installGpuCounters();
    try {
      this.adapter = await this.system.init();
      const startup = await this.system.prepare(STARTUP_WORKLOAD, 'fp32');
      const model = await startup.load();
      await model.run(workloadInputs(STARTUP_WORKLOAD));
      await model.dispose();
      // performance.now() counts from process start: imports, device and runtime init, first output.
      this.startupMs = performance.now();
      this.log(`${this.system.id}: started in ${this.startupMs.toFixed(0)} ms on ${this.adapter}`);
    } catch (e) {
      this.startError = `start-up failed: ${message(e)}`;
      this.log(`${this.system.id}: ${this.startError}`);
    }
    return { adapter: this.adapter, startupMs: this.startupMs, error: this.startError };
  }

  /** Builds and loads (w, precision), runs it once (cold) and `warmup` more times untimed. */
  async load(w: Workload, precision: Precision, warmup: number): Promise<LoadResult> {
    const base = blankRow(w, this.system, this.adapter, precision, this.startupMs, 0);
    if (this.startError) return { row: { ...base, error: this.startError }, warmEstimateMs: null };
    const reason = this.system.unsupported(w, precision);
    if (reason) return { row: { ...base, skipped: reason }, warmEstimateMs: null };
    let model: LoadedModel | undefined;
    try {
      let prepared;
      try {
        prepared = await this.system.prepare(w, precision);
      } catch (e) {
        if (e instanceof SkipWorkload) return { row: { ...base, skipped: e.message }, warmEstimateMs: null };
        throw e;
      }
      const inputs = workloadInputs(w);
      const t0 = performance.now();
      model = await prepared.load();
      await model.run(inputs);
      const coldMs = performance.now() - t0;
      let last = coldMs;
      for (let i = 0; i < warmup; i++) {
        const t = performance.now();
        await model.run(inputs);
        last = performance.now() - t;
      }
      this.loaded.set(key(w, precision), { model, inputs });
      return { row: { ...base, coldMs, compileMs: prepared.compileMs }, warmEstimateMs: last };
    } catch (e) {
      await disposeQuietly(model);
      return { row: { ...base, error: message(e) }, warmEstimateMs: null };
    }
  }

  /** Times `runs` runs of a loaded (w, precision); throws if it is not loaded or a run fails. */
  async trial(w: Workload, precision: Precision, runs: number): Promise<TrialResult> {
    const entry = this.loaded.get(key(w, precision));
    if (!entry) throw new Error(`${w.name} ${precision} is not loaded`);
    const { model, inputs } = entry;
    const gpu0 = gpuCounts();
    const own0 = model.ownCounts?.();
    const times: number[] = [];
    let output: ArrayLike<number> = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      output = await model.run(inputs);
      times.push(performance.now() - t);
    }
    const gpu1 = gpuCounts();
    const own1 = model.ownCounts?.();
    const perRun = (a: number, b: number): number => (b - a) / runs;
    const gpu = gpu0 && gpu1 ? diffCounts(gpu0, gpu1, runs) : null;
    const own = own0 && own1 ? { dispatches: perRun(own0.dispatches, own1.dispatches), submits: perRun(own0.submits, own1.submits) } : null;
    const differ = own && gpu && (own.dispatches !== gpu.dispatches || own.submits !== gpu.submits);
    return {
      times,
      dispatches: own?.dispatches ?? gpu?.dispatches ?? null,
      submits: own?.submits ?? gpu?.submits ?? null,
      readbacks: gpu?.readbacks ?? null,
      sample: sampleOutput(output),
      countNote: differ ? `${w.name} ${precision}: ${this.system.id}'s own counts (${own.dispatches} dispatches, ${own.submits} submits per run) differ from the WebGPU call counts (${gpu.dispatches}, ${gpu.submits})` : null,
    };
  }

  /** Frees a loaded (w, precision), if loaded. */
  async unload(w: Workload, precision: Precision): Promise<void> {
    const entry = this.loaded.get(key(w, precision));
    this.loaded.delete(key(w, precision));
    await disposeQuietly(entry?.model);
  }

  /** The system's notes plus the drivers' (count mismatches). */
  notes(): string[] {
    return [...this.extraNotes, ...(this.system.notes?.() ?? [])];
  }

  note(n: string): void {
    if (!this.extraNotes.includes(n)) this.extraNotes.push(n);
  }

  /** The report header fields (rows are assembled by the caller). */
  header(): Omit<ChildReport, 'rows'> {
    return { system: this.system.id, adapter: this.adapter, backend: this.system.backend, startupMs: this.startupMs, notes: this.notes() };
  }

  async close(): Promise<void> {
    for (const entry of this.loaded.values()) await disposeQuietly(entry.model);
    this.loaded.clear();
    await this.system.close();
  }
}

/**
 * Measures every (workload, precision) of `system` in this process, one after the other, with
 * one trial of `runs` runs each (kiln's tests; the bench interleaves systems instead).
 */
export async function runSystem(system: BenchSystem, workloads: readonly Workload[], opts: RunSystemOptions): Promise<ChildReport> {
  const log = opts.log ?? (() => {});
  const driver = new SystemDriver(system, log);
  const rows: ChildRow[] = [];
  const report = (): ChildReport => ({ ...driver.header(), rows: [...rows] });
  await driver.start();
  opts.onProgress?.(report());
  for (const w of workloads) {
    for (const precision of precisionsFor(system.id as SystemId, w)) {
      const { row } = await driver.load(w, precision, opts.warmup);
      let done = row;
      if (row.coldMs !== null) {
        try {
          const trial = await driver.trial(w, precision, opts.runs);
          if (trial.countNote) driver.note(trial.countNote);
          done = rowFromTrials(row, w, [trial]);
        } catch (e) {
          done = { ...row, error: message(e) };
        }
        await driver.unload(w, precision);
      }
      rows.push(done);
      log(`${system.id} ${w.name} ${precision}: ${describeRow(done)}`);
      opts.onProgress?.(report());
    }
  }
  await driver.close();
  return report();
}

/** A row with every figure null, to be filled in. */
export function blankRow(w: Workload, system: { id: string; backend: string }, adapter: string, precision: Precision, startupMs: number | null, runs: number): ChildRow {
  return {
    workload: w.name, system: system.id, adapter, precision,
    coldMs: null, warmMedianMs: null, warmMinMs: null, warmMaxMs: null, runs, gflops: null,
    dispatches: null, submits: null, readbacks: null,
    backend: system.backend, startupMs, compileMs: null, trialMediansMs: [], busy: null, skipped: null, error: null, outputSample: null,
  };
}

/** Warm figures over every timed run of `trials`, and each trial's median. */
function warmFigures(trials: readonly TrialResult[]): WarmFigures {
  const all = trials.flatMap((t) => t.times);
  const { median, min, max } = summarize(all);
  return { warmMedianMs: median, warmMinMs: min, warmMaxMs: max, runs: all.length, trialMediansMs: trials.map((t) => summarize(t.times).median) };
}

/**
 * The row of a loaded workload after its trials: warm figures over every timed run of every
 * trial, and of the runs beside a busy-looping process (`busyTrials`, --contention) apart.
 */
export function rowFromTrials(loaded: ChildRow, w: Workload, trials: readonly TrialResult[], busyTrials: readonly TrialResult[] = []): ChildRow {
  if (trials.length === 0) return loaded;
  const quiet = warmFigures(trials);
  const last = trials[trials.length - 1]!;
  const mean = (f: (t: TrialResult) => number | null): number | null => {
    const v = trials.map(f);
    return v.some((x) => x === null) ? null : (v as number[]).reduce((a, b) => a + b, 0) / v.length;
  };
  return {
    ...loaded,
    ...quiet,
    gflops: w.flops !== null ? w.flops / (quiet.warmMedianMs * 1e6) : null,
    dispatches: mean((t) => t.dispatches), submits: mean((t) => t.submits), readbacks: mean((t) => t.readbacks),
    busy: busyTrials.length ? warmFigures(busyTrials) : null,
    outputSample: last.sample,
  };
}

const key = (w: Workload, p: Precision): string => `${w.name}/${p}`;

async function disposeQuietly(model: LoadedModel | undefined): Promise<void> {
  try {
    await model?.dispose();
  } catch {
    // A failed dispose must not hide the row's own outcome.
  }
}

function diffCounts(a: GpuCounts, b: GpuCounts, runs: number): GpuCounts {
  return { dispatches: (b.dispatches - a.dispatches) / runs, submits: (b.submits - a.submits) / runs, readbacks: (b.readbacks - a.readbacks) / runs };
}

export function describeRow(r: ChildRow): string {
  if (r.skipped) return `skipped (${r.skipped})`;
  if (r.error) return `error (${r.error})`;
  if (r.warmMedianMs === null) return `cold ${r.coldMs?.toFixed(1) ?? '–'} ms`;
  return `cold ${r.coldMs!.toFixed(1)} ms, warm median ${r.warmMedianMs.toFixed(2)} ms (${r.warmMinMs!.toFixed(2)}-${r.warmMaxMs!.toFixed(2)}, ${r.runs} runs in ${r.trialMediansMs.length} trials)`;
}
