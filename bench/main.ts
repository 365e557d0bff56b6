// `npm run bench` / `kiln bench`: runs every system in its own child process (so a crash, or
// Dawn's lifetime trap in a peer, never takes down the run, and each gets a clean device), one
// after the other on the same adapter; prints a markdown table and writes bench/results.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_ARGS, BENCH_USAGE, benchOptionsFrom, type BenchOptions } from './options.js';
import { markdownReport, resultRows } from './report.js';
import type { ChildReport, ChildRow } from './rows.js';
import { blankRow } from './run-system.js';
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

interface ChildOutcome {
  readonly report: ChildReport | null;
  /** Why the child ended abnormally (exit code, signal, timeout), with its last stderr lines. */
  readonly failure: string | null;
}

/** Runs one system's child process and reads its report. */
function runChild(id: SystemId, workloads: readonly Workload[], opts: BenchOptions, dir: string): Promise<ChildOutcome> {
  const out = join(dir, `${id}.json`);
  const nodeFlags = opts.ortLiftoff && id.startsWith('ort-') && id !== 'ort-node' ? ['--liftoff-only'] : [];
  const args = [
    ...nodeFlags, join(HERE, 'child.js'), '--system', id, '--out', out,
    '--workloads', workloads.map((w) => w.name).join(','), '--runs', String(opts.runs), '--warmup', String(opts.warmup),
    ...(opts.kilnWait ? ['--kiln-wait', opts.kilnWait] : []),
  ];
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let partial = '';
    const onData = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('[bench] ')) log(line);
        else if (line.trim()) {
          tail.push(line);
          if (tail.length > 12) tail.shift();
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let report: ChildReport | null = null;
      try {
        report = JSON.parse(readFileSync(out, 'utf8')) as ChildReport;
      } catch {
        report = null;
      }
      const abnormal = timedOut || code !== 0;
      const why = timedOut ? `timed out after ${opts.timeoutMs / 1000} s` : signal ? `crashed (${signal})` : `exited with code ${code}`;
      const last = tail.filter((l) => !/^Warning: maxDynamic/.test(l)).slice(-3).join(' / ');
      done({ report, failure: abnormal ? `${id}'s process ${why}${last ? `: ${last}` : ''}` : null });
    });
  });
}

/** Rows the child should have written but did not (it crashed first), as error rows. */
function missingRows(id: SystemId, workloads: readonly Workload[], report: ChildReport | null, failure: string): ChildRow[] {
  const have = new Set((report?.rows ?? []).map((r) => `${r.workload}/${r.precision}`));
  const out: ChildRow[] = [];
  for (const w of workloads) {
    for (const p of precisionsFor(id, w)) {
      if (have.has(`${w.name}/${p}`)) continue;
      out.push({ ...blankRow(w, { id, backend: report?.backend ?? id }, report?.adapter ?? 'unknown', p, report?.startupMs ?? null, 0), error: failure });
    }
  }
  return out;
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
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-'));
  const loadAverage = loadavg()[0];
  const t0 = performance.now();
  const reports: ChildReport[] = [];
  const rows: ChildRow[] = [];
  const extraNotes: string[] = [];
  try {
    for (const id of opts.systems) {
      log(`[bench] ${id}: starting (${workloads.map((w) => w.name).join(', ')})`);
      const { report, failure } = await runChild(id, workloads, opts, dir);
      if (report) {
        reports.push(report);
        rows.push(...report.rows);
      }
      if (failure) {
        log(`[bench] ${failure}`);
        extraNotes.push(failure);
        rows.push(...missingRows(id, workloads, report, failure));
        if (!report) reports.push({ system: id, adapter: 'unknown', backend: id, startupMs: null, notes: [], rows: [] });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const totalS = (performance.now() - t0) / 1000;

  // Rows grouped by workload (in the workloads' order), systems in the order they ran.
  const ordered = workloads.flatMap((w) => rows.filter((r) => r.workload === w.name));
  const results = resultRows(ordered);
  const outPath = resolve(opts.out ?? join(repoRoot(), 'bench', 'results.json'));
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
  if (opts.ortLiftoff) extraNotes.push("onnxruntime-web ran under V8's --liftoff-only (--ort-liftoff)");
  process.stdout.write(markdownReport(results, reports, workloads, {
    runs: opts.runs, warmup: opts.warmup, date: new Date().toISOString().slice(0, 16).replace('T', ' '), node: process.version, totalS, loadAverage, extraNotes,
  }));
  log(`[bench] wrote ${outPath} (${results.length} rows) in ${totalS.toFixed(0)} s`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
