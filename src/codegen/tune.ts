import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Graph } from '../ir/graph.js';
import { COMPOSITE_FAMILIES, microGraph } from './micro-graphs.js';
import { generate } from './generate.js';
import type { KernelChooser } from './lower/lowering.js';
import type { GpuDevice } from '../runtime/device.js';
import { isSoftware } from '../runtime/adapter-info.js';
import { profileProgram } from '../runtime/profiler.js';
import { requiredFeatures } from '../runtime/artifact-device.js';
import { randomInputs } from '../io/random-inputs.js';

/** Where measured choices are kept: per adapter and kernel signature, so re-tuning is free. */
export function defaultTuningCachePath(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'kiln', 'tuning.json');
}

export interface TuneResult {
  readonly choose: KernelChooser;
  /** Every decision: from the cache, or measured now with the time of each variant. */
  readonly decisions: { family: string; signature: string; variant: string; cached: boolean; timesMs?: Record<string, number> }[];
}

/**
 * Measures each kernel variant the graph's kernels could use on `device` (device time from
 * timestamp queries, median of a few runs), keeps the fastest per signature, and remembers it in
 * the tuning cache keyed by adapter and signature.
 */
export async function tuneGraph(graph: Graph, device: GpuDevice, opts: { cachePath?: string; runs?: number; log?: (m: string) => void } = {}): Promise<TuneResult> {
  const cachePath = opts.cachePath ?? defaultTuningCachePath();
  let cache: Record<string, string> = {};
  try {
    cache = JSON.parse(readFileSync(cachePath, 'utf8')) as Record<string, string>;
  } catch {
    // No cache yet (or unreadable): start empty.
  }
  const requests = new Map<string, { family: string; signature: string; variants: readonly string[] }>();
  generate(graph, { choose: (family, signature, variants) => { requests.set(`${family}|${signature}`, { family, signature, variants }); return undefined; } });
  const adapter = device.describe();
  const chosen = new Map<string, string>();
  const decisions: TuneResult['decisions'] = [];
  const order = [...requests].sort(([, x], [, y]) => Number(COMPOSITE_FAMILIES.has(x.family)) - Number(COMPOSITE_FAMILIES.has(y.family)));
  for (const [key, r] of order) {
    const cacheKey = `${adapter}|${key}`;
    const hit = cache[cacheKey];
    if (hit && r.variants.includes(hit)) {
      chosen.set(key, hit);
      decisions.push({ family: r.family, signature: r.signature, variant: hit, cached: true });
      continue;
    }
    const micro = microGraph(r.family, r.signature);
    if (!micro) continue;
    const times: Record<string, number> = {};
    for (const v of r.variants) {
      // The variant timed for this problem; a composite's members in the variants chosen for them.
      const { program } = generate(micro, { choose: (family, signature) => (family === r.family && signature === r.signature ? v : chosen.get(`${family}|${signature}`)) });
      // A variant needing a feature the device lacks (subgroups) cannot run on it. The variants
      // sharing loads across a subgroup assume a workgroup fills its subgroups' low lanes, which
      // GPUs' subgroups (32 or 64 lanes, wider than those workgroups) do not promise: software only.
      const needs = requiredFeatures(program);
      if (needs.some((f) => !device.features.has(f)) || (needs.includes('subgroups') && !isSoftware(device.info))) continue;
      times[v] = (await profileProgram(device, program, randomInputs(micro, 1), opts.runs ?? 3)).deviceMs;
    }
    const timed = r.variants.filter((v) => times[v] !== undefined);
    const best = timed.reduce((a, b) => (times[b]! < times[a]! ? b : a));
    opts.log?.(`tune ${r.family} ${r.signature}: ${timed.map((v) => `${v} ${times[v]!.toFixed(2)} ms`).join(', ')} -> ${best}`);
    chosen.set(key, best);
    cache[cacheKey] = best;
    decisions.push({ family: r.family, signature: r.signature, variant: best, cached: false, timesMs: times });
  }
  mkdirSync(dirname(cachePath), { recursive: true });
  writeFileSync(cachePath, `${JSON.stringify(cache, null, 2)}\n`);
  return { choose: (family, signature) => chosen.get(`${family}|${signature}`), decisions };
}
