import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KilnError } from '../../ir/errors.js';
import type { Collectives } from './collectives.js';
import { createSharedMemoryGroup, type SharedMemoryGroupInit } from './shared-memory.js';

// `kiln.distributed.spawn`, as torch.multiprocessing.spawn: starts one worker thread per rank,
// each running the same module's `main(context)` with its rank and a shared-memory group as its
// default group, and resolves to their results in rank order. A worker owns what it acquires (a
// WebGPU device each: its own Dawn instance and queue). When one rank fails, the others are
// stopped and spawn rejects with that rank's error.

/** What a worker's `main` receives. */
export interface WorkerContext<D = unknown> {
  readonly rank: number;
  readonly worldSize: number;
  /** The group of all ranks (also this worker's default group). */
  readonly group: Collectives;
  /** The `data` given to spawn (structured-cloned). */
  readonly data: D;
}

export interface SpawnOptions<D = unknown> {
  /** How many workers (ranks). */
  readonly worldSize: number;
  /** Passed to every worker's main as `context.data` (structured-cloned). */
  readonly data?: D;
  /** Floats per rank in the shared buffers (default 1 Mi floats, 4 MiB); larger arrays go in chunks. */
  readonly capacity?: number;
  /** How long a rank waits in a collective for the others before failing, in ms (default 120 s). */
  readonly timeoutMs?: number;
}

/** @internal What worker-main receives. */
export interface WorkerStart {
  readonly rank: number;
  readonly entry: string;
  readonly group: SharedMemoryGroupInit;
  readonly data: unknown;
  readonly tsx: string | undefined;
  readonly workerMain: string;
}

type WorkerReply = { ok: true; result: unknown } | { ok: false; name: string; message: string; stack?: string };

// Workers start from this script so that TypeScript worker modules (run with tsx, as the tests
// and examples are from source) can be loaded: it registers tsx's loader first when asked.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.workerMain);
})();
`;

const isTypeScript = (url: string) => /\.[mc]?ts$/.test(url);

/**
 * Runs `main(context)`, exported by the module at `workerModuleUrl` (a file URL or path), in
 * `worldSize` worker threads, and resolves to the values they return, by rank.
 */
export async function spawn<R = unknown, D = unknown>(workerModuleUrl: string | URL, opts: SpawnOptions<D>): Promise<R[]> {
  const entry = workerModuleUrl instanceof URL ? workerModuleUrl.href : workerModuleUrl.startsWith('file:') ? workerModuleUrl : pathToFileURL(workerModuleUrl).href;
  const group = createSharedMemoryGroup(opts.worldSize, opts);
  const here = import.meta.url;
  const workerMain = new URL(`./worker-main${isTypeScript(here) ? '.ts' : '.js'}`, here).href;
  const tsx = isTypeScript(here) || isTypeScript(entry) ? tsxLoaderUrl(here) : undefined;
  const workers: Worker[] = [];
  const results = Array.from({ length: group.worldSize }, (_, rank) => {
    const start: WorkerStart = { rank, entry, group, data: opts.data, tsx, workerMain };
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: start });
    workers.push(worker);
    return new Promise<R>((resolve, reject) => {
      let reply: WorkerReply | undefined;
      worker.on('message', (m: WorkerReply) => { reply = m; });
      worker.on('error', (e) => reject(rankFailed(rank, e.name, e.message, e.stack)));
      worker.on('exit', (code) => {
        if (reply?.ok) resolve(reply.result as R);
        else if (reply) reject(rankFailed(rank, reply.name, reply.message, reply.stack));
        else reject(new KilnError(`rank ${rank} exited with code ${code} before its main returned`));
      });
    });
  });
  try {
    return await Promise.all(results);
  } catch (e) {
    // The other ranks would wait in their next collective until the timeout: stop them now.
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
}

/** The URL of tsx's ESM registration API (its package's `import` export, which Node's require cannot resolve). */
function tsxLoaderUrl(from: string): string {
  const pkgPath = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(pkgPath)).href;
}

function rankFailed(rank: number, name: string, message: string, stack: string | undefined): KilnError {
  const err = new KilnError(`rank ${rank} failed: ${name === 'Error' || name === 'KilnError' ? '' : `${name}: `}${message}`);
  if (stack) err.stack = `${err.name}: ${err.message}\n  in the worker: ${stack}`;
  return err;
}
