// `npm run bench` / `kiln bench`: runs every system in its own child process (so a crash, or
// Dawn's lifetime trap in a peer, never takes down the run, and each gets a clean device), all on
// the same adapter, the systems' trials interleaved; prints a markdown table and writes
// bench/results.json.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ChildHandle } from './child-handle.js';
import { loadWarning, readLoad, startBusyJob } from './machine-load.js';
import { BENCH_ARGS, BENCH_USAGE, benchOptionsFrom, type BenchOptions } from './options.js';
import { markdownReport, resultRows } from './report.js';
import type { ChildReport, ChildRow, Precision } from './rows.js';
import { blankRow, describeRow, rowFromTrials, type LoadResult, type StartResult, type TrialResult } from './run-system.js';
import { precisionsFor, type SystemId } from './systems/index.js';
import { selectWorkloads, type Workload } from './workloads.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The repository root: the nearest folder above this file with kiln's package.json. */
function repoRoot(): string {
  for (let dir = HERE; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kiln') return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** One (system, precision) of a workload: its row so far, its trials, and how many runs each takes. */
interface Entry {
  readonly id: SystemId;
  readonly precision: Precision;
  row: ChildRow;
  runsPerTrial: number;
  readonly trials: TrialResult[];
  /** With --contention, each trial's second pass, beside a busy-looping process. */
  readonly busyTrials: TrialResult[];
}

// With --contention, the busy process gets this long to start spinning before a trial's second
// pass, and the machine this long to calm down after it.
const BUSY_SETTLE_MS = 300;
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** One trial's pass over every live entry, each running its timed runs in turn; results go to `into`. */
async function runPass(live: readonly Entry[], handles: Map<SystemId, ChildHandle>, w: Workload, opts: BenchOptions, into: 'trials' | 'busyTrials'): Promise<void> {
  for (const e of live) {
    if (e.row.error) continue;
    try {
      e[into].push(await handles.get(e.id)!.request<TrialResult>({ op: 'trial', workload: w.name, precision: e.precision, runs: e.runsPerTrial }, opts.timeoutMs));
    } catch (err) {
      e.row = { ...e.row, error: (err as Error).message };
    }
  }
}

/** Starts one system's child and waits for its start-up (a failed start-up is in its answer). */
async function startChild(id: SystemId, opts: BenchOptions): Promise<ChildHandle> {
  log(`[bench] ${id}: starting`);
  const nodeFlags = opts.ortLiftoff && id.startsWith('ort-') && id !== 'ort-node' ? ['--liftoff-only'] : [];
  const h = new ChildHandle(id, join(HERE, 'child.js'), ['--system', id, ...(opts.kilnWait ? ['--kiln-wait', opts.kilnWait] : []), ...(opts.throttlePeerPolls ? ['--throttle-polls'] : [])], nodeFlags, log);
  try {
    await h.request<StartResult>({ op: 'start' }, opts.timeoutMs);
  } catch (e) {
    log(`[bench] ${(e as Error).message}`);
  }
  return h;
}

/** Starts every system's child, one after the other (so start-up times do not overlap). */
async function startChildren(opts: BenchOptions): Promise<Map<SystemId, ChildHandle>> {
  const handles = new Map<SystemId, ChildHandle>();
  for (const id of opts.systems) handles.set(id, await startChild(id, opts));
  return handles;
}

/** Replaces the children that crashed or timed out on an earlier workload, so they run the next. */
async function restartFailed(handles: Map<SystemId, ChildHandle>, opts: BenchOptions, notes: string[]): Promise<void> {
  for (const [id, h] of handles) {
    if (!h.failure) continue;
    notes.push(`${h.failure}; restarted for the next workload`);
    handles.set(id, await startChild(id, opts));
  }
}

/**
 * One workload on every system: each (system, precision) is loaded, run cold and warmed up, one
 * after the other; then `trials` rounds run each of them in turn (A B C A B C ...), so drift in
 * the machine's load reaches every system alike and shows as spread of the per-trial ratios.
 * With --contention each round runs them all again beside a busy-looping process (A B C A' B'
 * C'), so the quiet and busy ratios are taken seconds apart, not in runs an hour apart.
 */
async function runWorkload(w: Workload, handles: Map<SystemId, ChildHandle>, opts: BenchOptions): Promise<ChildRow[]> {
  const entries: Entry[] = [];
  for (const [id, h] of handles) {
    for (const precision of precisionsFor(id, w)) {
      let row: ChildRow;
      let runsPerTrial = 0;
      try {
        const loaded = await h.request<LoadResult>({ op: 'load', workload: w.name, precision, warmup: opts.warmup }, opts.timeoutMs);
        row = loaded.row;
        // Long runs get fewer runs a trial (at least one), so a heavy model keeps its trials.
        if (loaded.warmEstimateMs !== null) runsPerTrial = Math.max(1, Math.min(opts.runs, Math.floor(opts.trialBudgetMs / Math.max(loaded.warmEstimateMs, 1e-3))));
      } catch (e) {
        row = { ...blankRow(w, { id, backend: id }, 'unknown', precision, null, 0), error: (e as Error).message };
      }
      entries.push({ id, precision, row, runsPerTrial, trials: [], busyTrials: [] });
    }
  }
  const live = entries.filter((e) => e.runsPerTrial > 0);
  for (let t = 0; t < opts.trials; t++) {
    await runPass(live, handles, w, opts, 'trials');
    if (opts.contention) {
      const stopBusy = startBusyJob();
      try {
        await sleep(BUSY_SETTLE_MS);
        await runPass(live, handles, w, opts, 'busyTrials');
      } finally {
        stopBusy();
      }
      await sleep(BUSY_SETTLE_MS);
    }
    log(`[bench] ${w.name}: trial ${t + 1}/${opts.trials} done${opts.contention ? ' (quiet, then busy)' : ''}`);
  }
  for (const e of live) await handles.get(e.id)!.request({ op: 'unload', workload: w.name, precision: e.precision }, opts.timeoutMs).catch(() => {});
  return entries.map((e) => {
    const row = e.row.error ? e.row : rowFromTrials(e.row, w, e.trials, e.busyTrials);
    log(`[bench] ${e.id} ${w.name} ${e.precision}: ${describeRow(row)}`);
    return row;
  });
}

/** Closes every child and collects its report header (a failed child gets one from what is known). */
async function closeChildren(handles: Map<SystemId, ChildHandle>, rows: readonly ChildRow[], opts: BenchOptions): Promise<ChildReport[]> {
  const reports: ChildReport[] = [];
  for (const [id, h] of handles) {
    const own = rows.filter((r) => r.system === id);
    try {
      const header = await h.request<Omit<ChildReport, 'rows'>>({ op: 'close' }, opts.timeoutMs);
      reports.push({ ...header, rows: own });
    } catch (e) {
      const first = own.find((r) => r.adapter !== 'unknown');
      reports.push({ system: id, adapter: first?.adapter ?? 'unknown', backend: first?.backend ?? id, startupMs: first?.startupMs ?? null, notes: [(e as Error).message], rows: own });
    }
    h.kill();
  }
  return reports;
}

async function main(argv: string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    const { values } = parseArgs({ args: argv, options: { ...BENCH_ARGS, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if (values.help) {
      console.log(BENCH_USAGE);
      return 0;
    }
    opts = benchOptionsFrom(values);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  // Mesa's software drivers warn without a private runtime folder.
  if (!process.env.XDG_RUNTIME_DIR || !existsSync(process.env.XDG_RUNTIME_DIR)) {
    const xdg = join(tmpdir(), `kiln-xdg-${process.getuid?.() ?? 'user'}`);
    mkdirSync(xdg, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = xdg;
  }

  const workloads = selectWorkloads(opts.workloads, opts.quick);
  const loadBefore = readLoad();
  const stopBusy = opts.busy ? startBusyJob() : undefined;
  if (stopBusy) log('[bench] --busy: a busy-looping process runs beside the bench until it ends');
  const t0 = performance.now();
  const rows: ChildRow[] = [];
  let reports: ChildReport[] = [];
  const restartNotes: string[] = [];
  const handles = await startChildren(opts);
  try {
    for (const w of workloads) {
      await restartFailed(handles, opts, restartNotes);
      log(`[bench] ${w.name}: loading on every system, then ${opts.trials} interleaved trials`);
      rows.push(...(await runWorkload(w, handles, opts)));
    }
    reports = await closeChildren(handles, rows, opts);
  } finally {
    for (const h of handles.values()) h.kill();
    stopBusy?.();
  }
  const loadAfter = readLoad();
  const totalS = (performance.now() - t0) / 1000;
  const extraNotes: string[] = [...restartNotes];
  const warning = loadWarning(loadBefore, loadAfter, opts.busy || opts.contention);
  if (warning) {
    log(`[bench] warning: ${warning}`);
    extraNotes.push(`**warning**: ${warning}`);
  }

  // Rows grouped by workload (in the workloads' order), systems in the order they ran.
  const ordered = workloads.flatMap((w) => rows.filter((r) => r.workload === w.name));
  const results = resultRows(ordered);
  const outPath = resolve(opts.out ?? join(repoRoot(), 'bench', 'results.json'));
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
  if (opts.ortLiftoff) extraNotes.push("onnxruntime-web ran under V8's --liftoff-only (--ort-liftoff)");
  if (opts.throttlePeerPolls) extraNotes.push("the WebGPU peers' Dawn polls were throttled as kiln's are (--throttle-peer-polls)");
  process.stdout.write(markdownReport(results, reports, workloads, {
    runs: opts.runs, trials: opts.trials, warmup: opts.warmup, date: new Date().toISOString().slice(0, 16).replace('T', ' '), node: process.version, totalS,
    load: { before: loadBefore.load1, after: loadAfter.load1, cores: loadBefore.cores }, busy: opts.busy, contention: opts.contention, extraNotes,
  }));
  log(`[bench] wrote ${outPath} (${results.length} rows) in ${totalS.toFixed(0)} s`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
