// What else the machine is doing while the bench runs: the load average (read before and after)
// and, with --busy or --contention, a CPU-heavy job the bench starts itself to measure every
// system under contention: one child process that spins on one core (for the whole run, or for
// one pass of each trial).
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';

/** Above this share of the cores' worth of load, the machine is busy and timings drift. */
export const BUSY_LOAD_PER_CORE = 0.5;

export interface LoadReading {
  /** 1-minute load average. */
  readonly load1: number;
  readonly cores: number;
}

export function readLoad(): LoadReading {
  return { load1: loadavg()[0]!, cores: availableParallelism() };
}

/** A warning when either reading says the machine was busy, or null. */
export function loadWarning(before: LoadReading, after: LoadReading, busyJob: boolean): string | null {
  const limit = before.cores * BUSY_LOAD_PER_CORE;
  const worst = Math.max(before.load1, after.load1);
  if (worst <= limit) return null;
  const own = busyJob ? ' (this includes the busy-looping job the bench started)' : '';
  return `the machine was busy: load average ${worst.toFixed(2)} > ${limit.toFixed(1)} (${BUSY_LOAD_PER_CORE} per core, ${before.cores} cores)${own}; compare ratios from the same run, not absolute times across runs`;
}

/** Starts one process that busy-loops until stopped; the returned function stops it. */
export function startBusyJob(): () => void {
  const job: ChildProcess = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  const stop = (): void => {
    process.off('exit', stop);
    if (job.exitCode === null && job.signalCode === null) job.kill('SIGKILL');
  };
  // Never leave it spinning, whatever way the runner ends.
  process.once('exit', stop);
  return stop;
}
