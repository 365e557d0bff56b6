// The bench runner's command-line options (bench/main.ts parses them): `npm run bench` and
// `kiln bench`, which forwards its arguments to the runner, both reach them.
import { SYSTEM_IDS, isSystemId, type SystemId } from './systems/index.js';
import { WORKLOADS } from './workloads.js';

/** parseArgs option declarations (node:util) of the bench. */
export const BENCH_ARGS = {
  quick: { type: 'boolean' },
  only: { type: 'string' },
  workloads: { type: 'string' },
  runs: { type: 'string' },
  trials: { type: 'string' },
  'trial-ms': { type: 'string' },
  busy: { type: 'boolean' },
  contention: { type: 'boolean' },
  warmup: { type: 'string' },
  out: { type: 'string' },
  'kiln-wait': { type: 'string' },
  'ort-liftoff': { type: 'boolean' },
  'throttle-peer-polls': { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

export const BENCH_USAGE = [
  'Usage: npm run bench -- [options]    (or: kiln bench [options])',
  '',
  'Runs every workload on kiln and on its peers, each system in its own child process on the',
  'same WebGPU adapter, and prints a markdown table; writes the rows to bench/results.json.',
  '',
  'Options:',
  '  --quick              3 trials of up to 3 runs after 1 discarded, and only the quick workloads',
  `  --only LIST          systems to run, comma-separated (default all: ${SYSTEM_IDS.join(',')})`,
  `  --workloads LIST     workloads to run (default all: ${WORKLOADS.map((w) => w.name).join(',')})`,
  '  --trials N           interleaved rounds: each runs every system in turn (default 5)',
  '  --runs N             timed runs per system per trial, at most (default 4)',
  '  --trial-ms MS        fewer runs per trial when they would take longer than this (default 2000)',
  '  --busy               run a busy-looping process beside the bench (measures under CPU contention)',
  '  --contention         run each trial twice, quietly and then beside a busy-looping process, and',
  '                       report how far each ratio to kiln moved (pairs the two within seconds)',
  '  --warmup N           untimed runs between the cold run and the timed ones (default 2)',
  '  --out FILE           where to write the rows as JSON (default bench/results.json)',
  "  --kiln-wait MODE     how kiln's runs wait for the GPU: sleep or spin (default: the runtime's)",
  "  --ort-liftoff        run onnxruntime-web under V8's --liftoff-only (removes its ~40 s cold stall)",
  "  --throttle-peer-polls  give the WebGPU peers kiln's throttled Dawn polling (by default their",
  "                       waits busy-poll, as dawn.node does, taking a core from a software adapter)",
  '  --timeout SECONDS    give up on a system after this long (default 480)',
].join('\n');

export interface BenchOptions {
  readonly systems: readonly SystemId[];
  /** Workload names; undefined for the default set. */
  readonly workloads: readonly string[] | undefined;
  readonly quick: boolean;
  readonly runs: number;
  readonly trials: number;
  readonly trialBudgetMs: number;
  readonly busy: boolean;
  /** Each trial a second pass beside a busy-looping process. */
  readonly contention: boolean;
  readonly warmup: number;
  readonly out: string | undefined;
  readonly kilnWait: 'sleep' | 'spin' | undefined;
  readonly ortLiftoff: boolean;
  readonly throttlePeerPolls: boolean;
  readonly timeoutMs: number;
}

/** Builds BenchOptions from parsed option values; throws a one-line reason on a bad value. */
export function benchOptionsFrom(values: Record<string, unknown>): BenchOptions {
  const list = (v: unknown): string[] | undefined => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  const int = (v: unknown, name: string, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${String(v)}'`);
    return n;
  };
  const quick = values.quick === true;
  const only = list(values.only);
  const badSystems = (only ?? []).filter((s) => !isSystemId(s));
  if (badSystems.length) throw new Error(`unknown system(s) ${badSystems.join(', ')}; known: ${SYSTEM_IDS.join(', ')}`);
  const workloads = list(values.workloads);
  const badWorkloads = (workloads ?? []).filter((n) => !WORKLOADS.some((w) => w.name === n));
  if (badWorkloads.length) throw new Error(`unknown workload(s) ${badWorkloads.join(', ')}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  if (values.busy === true && values.contention === true) throw new Error('--busy and --contention exclude each other: --contention already runs every trial a second time beside a busy-looping process');
  const wait = values['kiln-wait'];
  if (wait !== undefined && wait !== 'sleep' && wait !== 'spin') throw new Error(`--kiln-wait takes sleep or spin, got '${String(wait)}'`);
  return {
    systems: only ? SYSTEM_IDS.filter((s) => only.includes(s)) : SYSTEM_IDS,
    workloads,
    quick,
    runs: int(values.runs, 'runs', quick ? 3 : 4, 1),
    trials: int(values.trials, 'trials', quick ? 3 : 5, 1),
    trialBudgetMs: int(values['trial-ms'], 'trial-ms', 2000, 1),
    busy: values.busy === true,
    contention: values.contention === true,
    warmup: int(values.warmup, 'warmup', quick ? 1 : 2, 0),
    out: typeof values.out === 'string' ? values.out : undefined,
    kilnWait: wait,
    ortLiftoff: values['ort-liftoff'] === true,
    throttlePeerPolls: values['throttle-peer-polls'] === true,
    timeoutMs: int(values.timeout, 'timeout', 480, 1) * 1000,
  };
}
