// Runs the workloads on one system inside the current process (a bench child, or a test):
// start-up, then per workload a cold run (load + first run), untimed warm-ups, and timed runs.
import { performance } from 'node:perf_hooks';
import { gpuCounts, installGpuCounters, type GpuCounts } from './dawn/gpu-counters.js';
import { sampleOutput, type ChildReport, type ChildRow, type Precision } from './rows.js';
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
  /** Called with the report so far after start-up and after every row (the child saves it). */
  readonly onProgress?: (report: ChildReport) => void;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);

/**
 * Measures every (workload, precision) of `system`. Never throws for a workload's failure: the
 * row carries the error (or the reason it was skipped) and the next workload runs.
 */
export async function runSystem(system: BenchSystem, workloads: readonly Workload[], opts: RunSystemOptions): Promise<ChildReport> {
  const log = opts.log ?? (() => {});
  // Before any device exists: kiln's device captures queue.submit when it is created.
  if (system.usesGpu) installGpuCounters();
  const notes: string[] = [];
  const rows: ChildRow[] = [];
  let adapter = 'unknown';
  let startupMs: number | null = null;
  const report = (): ChildReport => ({ system: system.id, adapter, backend: system.backend, startupMs, notes: [...notes, ...(system.notes?.() ?? [])], rows: [...rows] });

  let initError: string | null = null;
  try {
    adapter = await system.init();
    // performance.now() counts from process start: imports, device and runtime init, first output.
    const startup = await system.prepare(STARTUP_WORKLOAD, 'fp32');
    const model = await startup.load();
    await model.run(workloadInputs(STARTUP_WORKLOAD));
    await model.dispose();
    startupMs = performance.now();
    log(`${system.id}: started in ${startupMs.toFixed(0)} ms on ${adapter}`);
  } catch (e) {
    initError = `start-up failed: ${message(e)}`;
    log(`${system.id}: ${initError}`);
  }
  opts.onProgress?.(report());

  for (const w of workloads) {
    for (const precision of precisionsFor(system.id as SystemId, w)) {
      const base = blankRow(w, system, adapter, precision, startupMs, opts.runs);
      const row = initError ? { ...base, error: initError } : await measure(system, w, precision, base, opts, notes);
      rows.push(row);
      log(`${system.id} ${w.name} ${precision}: ${describeRow(row)}`);
      opts.onProgress?.(report());
    }
  }
  await system.close();
  return report();
}

/** A row with every figure null, to be filled in. */
export function blankRow(w: Workload, system: { id: string; backend: string }, adapter: string, precision: Precision, startupMs: number | null, runs: number): ChildRow {
  return {
    workload: w.name, system: system.id, adapter, precision,
    coldMs: null, warmMedianMs: null, warmMinMs: null, warmMaxMs: null, runs, gflops: null,
    dispatches: null, submits: null, readbacks: null,
    backend: system.backend, startupMs, compileMs: null, skipped: null, error: null, outputSample: null,
  };
}

async function measure(system: BenchSystem, w: Workload, precision: Precision, base: ChildRow, opts: RunSystemOptions, notes: string[]): Promise<ChildRow> {
  const reason = system.unsupported(w, precision);
  if (reason) return { ...base, runs: 0, skipped: reason };
  let model: LoadedModel | undefined;
  try {
    let prepared;
    try {
      prepared = await system.prepare(w, precision);
    } catch (e) {
      if (e instanceof SkipWorkload) return { ...base, runs: 0, skipped: e.message };
      throw e;
    }
    const inputs = workloadInputs(w);
    const t0 = performance.now();
    model = await prepared.load();
    await model.run(inputs);
    const coldMs = performance.now() - t0;
    for (let i = 0; i < opts.warmup; i++) await model.run(inputs);

    const gpu0 = gpuCounts();
    const own0 = model.ownCounts?.();
    const times: number[] = [];
    let output: ArrayLike<number> = [];
    for (let i = 0; i < opts.runs; i++) {
      const t = performance.now();
      output = await model.run(inputs);
      times.push(performance.now() - t);
    }
    const gpu1 = gpuCounts();
    const own1 = model.ownCounts?.();
    const { median, min, max } = summarize(times);
    const perRun = (a: number, b: number): number => (b - a) / opts.runs;
    const gpu = gpu0 && gpu1 ? diffCounts(gpu0, gpu1, opts.runs) : null;
    const own = own0 && own1 ? { dispatches: perRun(own0.dispatches, own1.dispatches), submits: perRun(own0.submits, own1.submits) } : null;
    if (own && gpu && (own.dispatches !== gpu.dispatches || own.submits !== gpu.submits)) {
      notes.push(`${w.name} ${precision}: ${system.id}'s own counts (${own.dispatches} dispatches, ${own.submits} submits per run) differ from the WebGPU call counts (${gpu.dispatches}, ${gpu.submits})`);
    }
    return {
      ...base,
      coldMs, warmMedianMs: median, warmMinMs: min, warmMaxMs: max,
      gflops: w.flops !== null ? w.flops / (median * 1e6) : null,
      dispatches: own?.dispatches ?? gpu?.dispatches ?? null,
      submits: own?.submits ?? gpu?.submits ?? null,
      readbacks: gpu?.readbacks ?? null,
      compileMs: prepared.compileMs,
      outputSample: sampleOutput(output),
    };
  } catch (e) {
    return { ...base, error: message(e) };
  } finally {
    try {
      await model?.dispose();
    } catch {
      // A failed dispose must not hide the row's own outcome.
    }
  }
}

function diffCounts(a: GpuCounts, b: GpuCounts, runs: number): GpuCounts {
  return { dispatches: (b.dispatches - a.dispatches) / runs, submits: (b.submits - a.submits) / runs, readbacks: (b.readbacks - a.readbacks) / runs };
}

function describeRow(r: ChildRow): string {
  if (r.skipped) return `skipped (${r.skipped})`;
  if (r.error) return `error (${r.error})`;
  return `cold ${r.coldMs!.toFixed(1)} ms, warm median ${r.warmMedianMs!.toFixed(2)} ms (${r.warmMinMs!.toFixed(2)}-${r.warmMaxMs!.toFixed(2)}, ${r.runs} runs)`;
}
