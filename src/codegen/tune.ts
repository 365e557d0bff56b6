import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Graph, type Value } from '../ir/graph.js';
import type { DType } from '../ir/types.js';
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

/** A one-kernel matmul graph for a signature `dtype:BxMxKxN` (see matmulSignature). */
function matmulGraph(signature: string): Graph | undefined {
  const m = /^(\w+):(\d+)x(\d+)x(\d+)x(\d+)$/.exec(signature);
  if (!m) return undefined;
  const [dtype, batch, rows, inner, cols] = [m[1] as DType, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
  const g = new Graph('tune_matmul');
  const a = g.addInput('a', { dtype, shape: [batch, rows, inner], device: 'webgpu' });
  const b = g.addInput('b', { dtype, shape: [batch, inner, cols], device: 'webgpu' });
  g.setOutputs([g.addNode('matmul', [a, b]).output]);
  return g;
}

/** A conv2d problem as its signature `dtype:NxCxHxW->OxOHxOW:kKHxKW:sSHxSW:dDHxDW:pT,L,B,R[:gG]` gives it (see convSignature). */
function convProblem(signature: string) {
  const m = /^(\w+):(\d+)x(\d+)x(\d+)x(\d+)->(\d+)x\d+x\d+:k(\d+)x(\d+):s(\d+)x(\d+):d(\d+)x(\d+):p(\d+),(\d+),(\d+),(\d+)(?::g(\d+))?$/.exec(signature);
  if (!m) return undefined;
  const [n, c, h, w, o, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups = 1] = m.slice(2).filter((s) => s !== undefined).map(Number) as number[];
  return {
    dtype: m[1] as DType, x: [n!, c!, h!, w!], w: [o!, c! / groups!, kh!, kw!],
    attrs: { stride: [sh!, sw!], dilation: [dh!, dw!], padding: [pt!, pl!, pb!, pr!], groups: groups! },
  };
}

/** A conv2d of `problem` on `x` in `g`, its weight a new input named `weight`. */
function addConv(g: Graph, x: Value, problem: NonNullable<ReturnType<typeof convProblem>>, weight: string): Value {
  const w = g.addInput(weight, { dtype: problem.dtype, shape: problem.w, device: 'webgpu' });
  return g.addNode('conv2d', [x, w], problem.attrs).output;
}

/** A one-kernel conv2d graph for a signature (see convSignature). */
function convGraph(signature: string): Graph | undefined {
  const p = convProblem(signature);
  if (!p) return undefined;
  const g = new Graph('tune_conv');
  g.setOutputs([addConv(g, g.addInput('x', { dtype: p.dtype, shape: p.x, device: 'webgpu' }), p, 'w')]);
  return g;
}

/**
 * A pair of convolutions (a depthwise one in front when there are three) as the one fused node
 * fuse-pointwise-pairs makes of them, for a signature of their conv signatures joined by `+`
 * (see pointwisePairKernel): `pair` times its kernel, `separate` the members' own.
 */
function convPairGraph(signature: string): Graph | undefined {
  const problems = signature.split('+').map(convProblem);
  if (problems.length < 2 || problems.length > 3 || problems.some((p) => !p)) return undefined;
  const body = new Graph('tune_conv_pair');
  let x = body.addInput('x', { dtype: problems[0]!.dtype, shape: problems[0]!.x, device: 'webgpu' });
  const outputs = problems.map((p, i) => (x = addConv(body, x, p!, `w${i}`)));
  body.setOutputs(outputs);
  const g = new Graph('tune_conv_pair');
  const inputs = body.inputs.map((v) => g.addInput(v.name, v.type));
  const pair = g.addNode('fused', inputs, { body, kernel: 'pointwise_pair' }, { types: outputs.map((v) => v.type), names: outputs.map((v) => v.name), device: 'webgpu' });
  g.setOutputs(pair.outputs);
  return g;
}

/**
 * One-kernel graphs solving the same problem as a signature, per kernel family, to time variants
 * on. A Gemm is timed as the matmul of its shape: its transposes, alpha and bias change only
 * its indexing and epilogue, which every variant shares.
 */
const MICRO_GRAPHS: Readonly<Record<string, (signature: string) => Graph | undefined>> = { matmul: matmulGraph, gemm: matmulGraph, conv: convGraph, conv_pair: convPairGraph };

/** Families whose micro graphs hold kernels of other families (a pair's members): timed once those are chosen. */
const COMPOSITE_FAMILIES: ReadonlySet<string> = new Set(['conv_pair']);

function microGraph(family: string, signature: string): Graph | undefined {
  return MICRO_GRAPHS[family]?.(signature);
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
