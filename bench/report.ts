// Turns the children's reports into the result rows (with the cross-check against kiln) and the
// markdown that `npm run bench` prints.
import { sampleDiff, type BenchRow, type ChildReport, type ChildRow } from './rows.js';
import type { Workload } from './workloads.js';

/** A result row plus its warm median as a multiple of kiln fp32's on the same workload. */
export interface ResultRow extends BenchRow {
  /** warmMedianMs / kiln fp32's warmMedianMs (above 1: slower than kiln). Null for kiln fp32 or without figures. */
  readonly warmRatioToKiln: number | null;
  /** Spread of that ratio over the trials: min and max of (this row's trial median / kiln fp32's in the same trial). */
  readonly trialRatioMin: number | null;
  readonly trialRatioMax: number | null;
  /** The same ratio and spread from the runs beside a busy-looping process (--contention). */
  readonly busyRatioToKiln: number | null;
  readonly busyTrialRatioMin: number | null;
  readonly busyTrialRatioMax: number | null;
}

/** Per-trial ratios of `row` to `kiln` (trial i against trial i: they ran side by side). */
export function trialRatios(row: readonly number[], kiln: readonly number[]): number[] {
  const n = Math.min(row.length, kiln.length);
  return Array.from({ length: n }, (_, i) => row[i]! / kiln[i]!);
}

/** A row's warm median over kiln's, and the min and max of the per-trial ratios (nulls without figures). */
function ratioToKiln(row: { warmMedianMs: number | null; trialMediansMs: number[] } | null, kiln: { warmMedianMs: number | null; trialMediansMs: number[] } | null | undefined) {
  if (!row || !kiln?.warmMedianMs || row.warmMedianMs === null) return { ratio: null, min: null, max: null };
  const per = trialRatios(row.trialMediansMs, kiln.trialMediansMs);
  return { ratio: row.warmMedianMs / kiln.warmMedianMs, min: per.length ? Math.min(...per) : null, max: per.length ? Math.max(...per) : null };
}

/** Final rows: child rows without their output samples, with the output check and ratio to kiln (quiet, and busy with --contention). */
export function resultRows(rows: readonly ChildRow[]): ResultRow[] {
  const kilnOf = (workload: string): ChildRow | undefined => rows.find((r) => r.workload === workload && r.system === 'kiln' && r.precision === 'fp32');
  return rows.map(({ outputSample, ...row }) => {
    const kiln = kilnOf(row.workload);
    const isKilnRef = kiln !== undefined && row.system === 'kiln' && row.precision === 'fp32';
    const diff = !isKilnRef && kiln?.outputSample && outputSample ? sampleDiff(kiln.outputSample, outputSample) : null;
    const quiet = ratioToKiln(isKilnRef ? null : row, kiln);
    const busy = ratioToKiln(isKilnRef ? null : row.busy, kiln?.busy);
    return {
      ...row, maxAbsDiffVsKiln: diff,
      warmRatioToKiln: quiet.ratio, trialRatioMin: quiet.min, trialRatioMax: quiet.max,
      busyRatioToKiln: busy.ratio, busyTrialRatioMin: busy.min, busyTrialRatioMax: busy.max,
    };
  });
}

const ms = (v: number | null): string => (v === null ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const num = (v: number | null, digits = 1): string => (v === null ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(digits));
const ratio = (v: number | null): string => (v === null ? '–' : `${v.toFixed(2)}×`);
const range = (min: number | null, max: number | null): string => (min === null ? '' : ` (${min.toFixed(2)}–${max!.toFixed(2)})`);
const spread = (r: ResultRow): string => range(r.trialRatioMin, r.trialRatioMax);
const diff = (v: number | null): string => (v === null ? '–' : v === 0 ? '0' : v.toExponential(1));

/** Facts about the run printed in the report's header. */
export interface ReportMeta {
  /** Timed runs per system per trial, at most (heavy workloads take fewer). */
  readonly runs: number;
  readonly trials: number;
  readonly warmup: number;
  readonly date: string;
  readonly node: string;
  readonly totalS: number;
  /** 1-minute load averages before and after the run (other processes share the cores). */
  readonly load?: { readonly before: number; readonly after: number; readonly cores: number };
  /** Whether the bench ran a busy-looping process beside it (--busy). */
  readonly busy?: boolean;
  /** Whether each trial ran a second pass beside a busy-looping process (--contention). */
  readonly contention?: boolean;
  readonly extraNotes: readonly string[];
}

/** The whole markdown report. */
export function markdownReport(rows: readonly ResultRow[], reports: readonly ChildReport[], workloads: readonly Workload[], meta: ReportMeta): string {
  const out: string[] = [];
  const adapters = [...new Set(reports.filter((r) => r.adapter !== 'unknown').map((r) => r.adapter))];
  out.push(`## kiln bench — ${meta.date}`, '');
  const load = meta.load ? `; 1-minute load average before ${meta.load.before.toFixed(2)}, after ${meta.load.after.toFixed(2)} (${meta.load.cores} cores)` : '';
  const busy = meta.busy ? ' **Run with --busy: a busy-looping process took one core throughout.**'
    : meta.contention ? ' Run with --contention: each trial ran every system a second time beside a busy-looping process (see the table of that name).' : '';
  out.push(`Node ${meta.node}; adapters: ${adapters.map((a) => `\`${a}\``).join(', ') || 'none'}${load}.`);
  out.push(`Each system ran in its own process, all on the same adapter.${busy} Cold = model load (session creation) + first run in that process, after the system's start-up. Then ${meta.trials} trials, each running every system in turn (up to ${meta.runs} timed runs each, fewer for slow models, after ${meta.warmup} untimed ones): warm = median (min–max) over all of a row's timed runs. Every run uploads the inputs and reads the output back to the host. Dispatches, submits and readbacks are per warm run. "vs kiln" = warm median / kiln fp32's warm median (above 1: slower than kiln), with in brackets the min–max over trials of the same ratio within one trial. "Δ kiln" = largest |difference| from kiln fp32's output on sampled elements. Whole bench: ${meta.totalS.toFixed(0)} s.`, '');

  out.push('| workload | system | backend | precision | cold ms | warm median ms | warm min–max ms | runs | GFLOP/s | dispatches | submits | readbacks | vs kiln | Δ kiln |');
  out.push('|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of workloads) {
    for (const r of rows.filter((x) => x.workload === w.name)) {
      const backend = r.backend;
      if (r.skipped || r.error) {
        out.push(`| ${r.workload} | ${r.system} | ${backend} | ${r.precision} | ${r.skipped ? `skipped: ${esc(r.skipped)}` : `**error**: ${esc(r.error!)}`} | | | | | | | | | |`);
        continue;
      }
      out.push(`| ${r.workload} | ${r.system} | ${backend} | ${r.precision} | ${ms(r.coldMs)} | ${ms(r.warmMedianMs)} | ${ms(r.warmMinMs)}–${ms(r.warmMaxMs)} | ${r.runs} | ${num(r.gflops, 2)} | ${num(r.dispatches)} | ${num(r.submits)} | ${num(r.readbacks)} | ${ratio(r.warmRatioToKiln)}${spread(r)} | ${diff(r.maxAbsDiffVsKiln)} |`);
    }
  }
  out.push('');

  out.push(...ratioTable(rows, workloads));
  out.push(...contentionTable(rows, workloads));

  out.push('### Start-up and compile', '');
  out.push('| system | adapter | start-up ms | kiln AOT compile ms (per workload) |');
  out.push('|---|---|---:|---|');
  for (const rep of reports) {
    const compiles = rows.filter((r) => r.system === rep.system && r.compileMs !== null).map((r) => `${r.workload} ${r.precision}: ${ms(r.compileMs)}`);
    out.push(`| ${rep.system} | ${esc(rep.adapter)} | ${ms(rep.startupMs)} | ${compiles.join('; ') || '–'} |`);
  }
  out.push('', 'Start-up = process start to the first output of a one-op model (y = x + 1): Node, imports, device, runtime/wasm initialisation. A fresh process\'s first inference of a workload costs start-up + cold. kiln\'s compile is ahead of time (`kiln compile`), so it is reported apart from its cold run.', '');

  out.push('### First inference in a fresh process (≈ start-up + cold), ms', '');
  out.push(`| system | ${workloads.map((w) => w.name).join(' | ')} |`);
  out.push(`|---|${workloads.map(() => '---:').join('|')}|`);
  for (const rep of reports) {
    const cells = workloads.map((w) => {
      const r = rows.find((x) => x.system === rep.system && x.workload === w.name && x.precision === 'fp32');
      return r?.coldMs != null && rep.startupMs !== null ? ms(rep.startupMs + r.coldMs) : '–';
    });
    out.push(`| ${rep.system} | ${cells.join(' | ')} |`);
  }
  out.push('');

  const cpuVsGpu = cpuGpuLines(rows, workloads);
  if (cpuVsGpu.length) {
    out.push('### CPU vs WebGPU, same matmul', '');
    out.push('| workload | CPU: ort-node, 1 thread (ms) | kiln WebGPU (ms) | fastest peer on WebGPU (ms) | CPU time / kiln time |');
    out.push('|---|---:|---:|---:|---:|');
    out.push(...cpuVsGpu, '');
  }

  const notes = [...meta.extraNotes, ...reports.flatMap((r) => r.notes.map((n) => `${r.system}: ${n}`))];
  if (notes.length) out.push('### Notes', '', ...notes.map((n) => `- ${n}`), '');
  return `${out.join('\n')}\n`;
}

/** kiln fp32 against each peer per workload: the peer's warm median / kiln's, with the per-trial spread. */
function ratioTable(rows: readonly ResultRow[], workloads: readonly Workload[]): string[] {
  const peers = [...new Set(rows.filter((r) => r.system !== 'kiln').map((r) => r.system))];
  if (!peers.length) return [];
  const out = ['### Peer time / kiln time (ratio of warm medians; min–max of the per-trial ratios)', ''];
  out.push(`| workload | ${peers.join(' | ')} |`, `|---|${peers.map(() => '---:').join('|')}|`);
  for (const w of workloads) {
    const cells = peers.map((p) => {
      const r = rows.find((x) => x.workload === w.name && x.system === p && x.precision === 'fp32');
      if (!r) return '–';
      if (r.skipped) return `n/a: ${esc(r.skipped)}`;
      if (r.error) return `error: ${esc(r.error).slice(0, 80)}`;
      return `${ratio(r.warmRatioToKiln)}${spread(r)}`;
    });
    out.push(`| ${w.name} | ${cells.join(' | ')} |`);
  }
  out.push('');
  return out;
}

/**
 * With --contention: each peer's ratio to kiln in the quiet runs and in the busy ones, and how
 * far it moved (busy ratio / quiet ratio; per trial, the two passes of one trial paired).
 */
function contentionTable(rows: readonly ResultRow[], workloads: readonly Workload[]): string[] {
  if (!rows.some((r) => r.busy)) return [];
  const out = [
    '### Beside a busy-looping process (--contention)', '',
    'Each trial ran every system twice: quietly (the figures above), then beside a process busy-looping on one core. "moved" = the busy ratio / the quiet ratio (1: the ratio held), with the min–max of the same over trials.', '',
    '| workload | system | kiln quiet ms | kiln busy ms | system quiet ms | system busy ms | vs kiln quiet | vs kiln busy | moved |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const w of workloads) {
    const kiln = rows.find((r) => r.workload === w.name && r.system === 'kiln' && r.precision === 'fp32');
    if (!kiln?.busy) continue;
    for (const r of rows.filter((x) => x.workload === w.name && x.busy && x.busyRatioToKiln !== null && x.warmRatioToKiln !== null)) {
      const moved = trialRatios(trialRatios(r.busy!.trialMediansMs, kiln.busy.trialMediansMs), trialRatios(r.trialMediansMs, kiln.trialMediansMs));
      const movedRange = moved.length ? range(Math.min(...moved), Math.max(...moved)) : '';
      out.push(`| ${w.name} | ${r.system}${r.precision === 'fp32' ? '' : ` ${r.precision}`} | ${ms(kiln.warmMedianMs)} | ${ms(kiln.busy.warmMedianMs)} | ${ms(r.warmMedianMs)} | ${ms(r.busy!.warmMedianMs)} | ${ratio(r.warmRatioToKiln)}${spread(r)} | ${ratio(r.busyRatioToKiln)}${range(r.busyTrialRatioMin, r.busyTrialRatioMax)} | ${(r.busyRatioToKiln! / r.warmRatioToKiln!).toFixed(2)}${movedRange} |`);
    }
  }
  out.push('');
  return out;
}

function cpuGpuLines(rows: readonly ResultRow[], workloads: readonly Workload[]): string[] {
  const lines: string[] = [];
  for (const w of workloads.filter((x) => x.name.startsWith('matmul'))) {
    const of = (pred: (r: ResultRow) => boolean) => rows.filter((r) => r.workload === w.name && r.warmMedianMs !== null && pred(r));
    const cpu = of((r) => r.system === 'ort-node')[0];
    const kiln = of((r) => r.system === 'kiln' && r.precision === 'fp32')[0];
    const peers = of((r) => r.system !== 'kiln' && r.system !== 'ort-node').sort((a, b) => a.warmMedianMs! - b.warmMedianMs!);
    if (!cpu && !kiln) continue;
    const best = peers[0];
    const speedup = cpu && kiln ? `${(cpu.warmMedianMs! / kiln.warmMedianMs!).toFixed(2)}×` : '–';
    lines.push(`| ${w.name} | ${ms(cpu?.warmMedianMs ?? null)} | ${ms(kiln?.warmMedianMs ?? null)} | ${best ? `${ms(best.warmMedianMs)} (${best.system})` : '–'} | ${speedup} |`);
  }
  return lines;
}

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
