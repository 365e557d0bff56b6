// Keeps the bench from rotting without running it: the kiln child runner on the tiny MLP (two
// warm runs), the row format of bench/results.json, the report, the option parsing, and the
// ONNX export the peers load (read back by kiln's own importer). Never asserts on time; peers
// are not run here.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { blankRow, rowFromTrials, runSystem } from '../../bench/run-system.js';
import { loadWarning } from '../../bench/machine-load.js';
import type { ChildRow } from '../../bench/rows.js';
import { summarize } from '../../bench/stats.js';
import { markdownReport, resultRows, trialRatios } from '../../bench/report.js';
import { benchOptionsFrom } from '../../bench/options.js';
import { kilnSystem } from '../../bench/systems/kiln.js';
import { exportOnnx } from '../../bench/onnx/export-graph.js';
import { WORKLOADS, workloadInputs, type Workload } from '../../bench/workloads.js';
import { importOnnx } from '../../src/frontend/onnx/import.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { hasGpu } from '../helpers/gpu.js';
import { optimize } from '../../src/compiler.js';
import { runOrt } from '../frontend/onnx/ort-oracle.js';

// The documented fields of a results.json row, then the extras the bench adds.
const DOCUMENTED = ['workload', 'system', 'adapter', 'precision', 'coldMs', 'warmMedianMs', 'warmMinMs', 'warmMaxMs', 'runs', 'gflops', 'dispatches', 'submits', 'readbacks'];
const EXTRAS = ['backend', 'startupMs', 'compileMs', 'trialMediansMs', 'busy', 'maxAbsDiffVsKiln', 'skipped', 'error', 'warmRatioToKiln', 'trialRatioMin', 'trialRatioMax', 'busyRatioToKiln', 'busyTrialRatioMin', 'busyTrialRatioMax'];

const workload = (name: string): Workload => WORKLOADS.find((w) => w.name === name)!;
const gpuMissing = !(await hasGpu()) && !process.env['KILN_REQUIRE_GPU'];

describe('bench: kiln child runner', () => {
  it.skipIf(gpuMissing)('measures the MLP at fp32 and fp16 and reports complete rows', async () => {
    const mlp = workload('mlp');
    const report = await runSystem(kilnSystem(), [mlp], { runs: 2, warmup: 0 });

    expect(report.system).toBe('kiln');
    expect(report.adapter).not.toBe('unknown');
    expect(report.startupMs).toBeTypeOf('number');
    expect(report.rows.map((r) => r.precision)).toEqual(['fp32', 'fp16']);
    for (const row of report.rows) {
      expect(row.error).toBeNull();
      expect(row.skipped).toBeNull();
      expect(row).toMatchObject({ workload: 'mlp', system: 'kiln', runs: 2, adapter: report.adapter });
      for (const k of ['coldMs', 'warmMedianMs', 'warmMinMs', 'warmMaxMs', 'gflops', 'compileMs']) expect(row[k as keyof typeof row], k).toBeTypeOf('number');
      expect(row.warmMinMs!).toBeLessThanOrEqual(row.warmMedianMs!);
      expect(row.warmMedianMs!).toBeLessThanOrEqual(row.warmMaxMs!);
      // kiln's contract: one submit and one readback per run, at least one dispatch.
      expect(row.submits).toBe(1);
      expect(row.readbacks).toBe(1);
      expect(row.dispatches!).toBeGreaterThanOrEqual(1);
      expect(row.outputSample!.length).toBe(8 * 10);
    }
    expect(report.notes.filter((n) => n.includes('differ'))).toEqual([]);

    // The output is the model's: compare the sample with the CPU reference on the same inputs.
    if (mlp.source.kind !== 'graph') throw new Error('mlp is a graph workload');
    const graph = await mlp.source.build();
    const x = workloadInputs(mlp).get('x')!;
    const ref = runOnCpu(graph, { x: tensorData('f32', [8, 784], x) })[graph.outputs[0]!.name]!.data;
    const sample = report.rows[0]!.outputSample!;
    sample.indices.forEach((i, k) => expect(sample.values[k]).toBeCloseTo(ref[i]!, 4));

    const rows = resultRows(report.rows);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual([...DOCUMENTED, ...EXTRAS].sort());
    expect(rows[0]!.maxAbsDiffVsKiln).toBeNull();
    expect(rows[1]!.maxAbsDiffVsKiln).toBeTypeOf('number');
    expect(rows[1]!.warmRatioToKiln).toBeTypeOf('number');

    const md = markdownReport(rows, [report], [mlp], { runs: 2, trials: 1, warmup: 0, date: 'today', node: process.version, totalS: 1, extraNotes: [] });
    expect(md).toMatch(/^\| mlp \| kiln \| kiln WebGPU \| fp32 \|/m);
    expect(md).toMatch(/^\| mlp \| kiln \| kiln WebGPU \| fp16 \|/m);
  });
});

describe('bench: the ONNX models given to the peers', () => {
  for (const name of ['mlp', 'transformer', 'matmul-512']) {
    it(`${name} exported to ONNX and imported by kiln computes what the traced graph computes`, async () => {
      const w = workload(name);
      if (w.source.kind !== 'graph') throw new Error(`${name} is a graph workload`);
      const graph = await w.source.build();
      const back = importOnnx(exportOnnx(graph));
      const feeds = Object.fromEntries([...workloadInputs(w)].map(([k, v]) => [k, tensorData('f32', graph.inputs.find((i) => i.name === k)!.type.shape, v)]));
      const want = runOnCpu(graph, feeds)[graph.outputs[0]!.name]!.data;
      const got = runOnCpu(back, feeds)[back.outputs[0]!.name]!.data;
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst).toBeLessThan(1e-4);
    });
  }
});

describe('bench: quantized weights for the peers', () => {
  /** The transformer block, its ONNX export with quantized Linear layers, and the workload's inputs. */
  async function exported(weights: 'q4' | 'q8') {
    const w = workload('transformer');
    if (w.source.kind !== 'graph') throw new Error('transformer is a graph workload');
    const graph = await w.source.build();
    const bytes = exportOnnx(graph, { weights });
    const feeds = Object.fromEntries([...workloadInputs(w)].map(([k, v]) => [k, tensorData('f32', graph.inputs.find((i) => i.name === k)!.type.shape, v)]));
    return { graph, bytes, back: importOnnx(bytes), feeds, name: graph.outputs[0]!.name };
  }

  /** ONNX Runtime's output for the export, within 1e-4 (relative) of `mine`. */
  async function expectOrtAgrees(bytes: Uint8Array, feeds: Record<string, ReturnType<typeof tensorData>>, mine: ArrayLike<number>) {
    const [ort] = await runOrt(bytes, feeds);
    expect(ort!.values.length).toBe(mine.length);
    ort!.values.forEach((y, i) => expect(Math.abs(mine[i]! - y), `output[${i}]`).toBeLessThan(1e-4 * (1 + Math.abs(y))));
  }

  // The transformer block's Linear layers as MatMulNBits: the weights kiln's --weights int4
  // would store, laid out as ONNX Runtime reads them (onnxruntime-node as the judge).
  it('the transformer block exported with MatMulNBits computes, in ONNX Runtime, what kiln computes with int4 weights', async () => {
    const { graph, bytes, back, feeds, name } = await exported('q4');
    expect(back.nodes.filter((n) => n.op === 'dequantize_blocks').length).toBeGreaterThan(0);
    await expectOrtAgrees(bytes, feeds, runOnCpu(optimize(graph, { weights: 'int4', int8MinElements: 0 }).graph, feeds)[name]!.data);
  });

  // As ORT's quantize_dynamic writes them: ONNX Runtime computes what kiln's import of the same
  // file computes, and that is near the float block (int8 weights, uint8 activations).
  it('the transformer block exported with dynamically quantized int8 weights: ONNX Runtime computes what kiln\'s import does, near the float block', async () => {
    const { graph, bytes, back, feeds, name } = await exported('q8');
    // Its four Linear layers: query-key-value, projection, and the MLP's two.
    expect(back.nodes.filter((n) => n.op === 'dequantize_int8').length).toBe(4);
    const mine = runOnCpu(back, feeds)[name]!.data;
    await expectOrtAgrees(bytes, feeds, mine);
    runOnCpu(graph, feeds)[name]!.data.forEach((y, i) => expect(Math.abs(mine[i]! - y), `output[${i}] against the float block`).toBeLessThan(0.1 * (1 + Math.abs(y))));
  });
});

describe('bench: options', () => {
  it('defaults to every system, 5 trials of up to 4 runs and 2 warm-ups, quiet; --quick lowers them', () => {
    const all = benchOptionsFrom({});
    expect(all.systems).toEqual(['kiln', 'ort-webgpu', 'ort-jsep', 'tfjs-webgpu', 'ort-node-webgpu', 'ort-node']);
    expect([all.trials, all.runs, all.warmup, all.busy, all.contention]).toEqual([5, 4, 2, false, false]);
    expect(benchOptionsFrom({ contention: true }).contention).toBe(true);
    const quick = benchOptionsFrom({ quick: true, only: 'ort-node,kiln', busy: true });
    expect(quick.systems).toEqual(['kiln', 'ort-node']);
    expect(quick.trials * quick.runs).toBeLessThan(all.trials * all.runs);
    expect(quick.busy).toBe(true);
    expect([all.throttlePeerPolls, benchOptionsFrom({ 'throttle-peer-polls': true }).throttlePeerPolls]).toEqual([false, true]);
  });

  it('names what is wrong in a bad option', () => {
    expect(() => benchOptionsFrom({ only: 'kiln,pytorch' })).toThrow(/unknown system\(s\) pytorch; known: kiln/);
    expect(() => benchOptionsFrom({ workloads: 'resnet' })).toThrow(/unknown workload\(s\) resnet; known: matmul-512/);
    expect(() => benchOptionsFrom({ runs: '0' })).toThrow(/--runs must be an integer >= 1/);
    expect(() => benchOptionsFrom({ trials: 'x' })).toThrow(/--trials must be an integer >= 1/);
    expect(() => benchOptionsFrom({ 'kiln-wait': 'nap' })).toThrow(/--kiln-wait takes sleep or spin/);
    expect(() => benchOptionsFrom({ busy: true, contention: true })).toThrow(/--busy and --contention exclude each other/);
  });
});

describe('kiln bench (the built CLI)', () => {
  const KILN = join(import.meta.dirname, '../../dist/src/cli/main.js');
  const kiln = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [KILN, ...args], { timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  it('--help and kiln help bench show the runner\'s options', async () => {
    for (const args of [['bench', '--help'], ['help', 'bench']]) {
      const r = await kiln(...args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: npm run bench -- \[options\] +\(or: kiln bench \[options\]\)/);
      expect(r.stdout).toMatch(/--only LIST/);
    }
  });

  it('a bad option value is a usage error (exit 2) that says why and shows the usage, and runs nothing', async () => {
    for (const args of [['--only', 'kiln,nope'], ['--only', 'kiln,nope', '--debug']]) {
      const r = await kiln('bench', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^bench: unknown system\(s\) nope; known: kiln, /m);
      expect(r.stderr).toMatch(/^Usage: npm run bench/m);
    }
    const unknown = await kiln('bench', '--fast');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^bench: Unknown option '--fast'/m);
  });
});

describe('bench: result rows', () => {
  it('compares every row with kiln fp32 on the same workload: time ratio and output difference', () => {
    const sample = (values: number[]) => ({ length: 100, indices: values.map((_, i) => i * 10), values });
    const row = (system: string, precision: 'fp32' | 'fp16', median: number, values: number[]): ChildRow => ({
      ...blankRow(workload('mlp'), { id: system, backend: system }, 'adapter', precision, 1, 10),
      coldMs: 1, warmMedianMs: median, warmMinMs: median, warmMaxMs: median, outputSample: sample(values),
    });
    const rows = resultRows([
      row('kiln', 'fp32', 2, [1, 2, 3]),
      row('kiln', 'fp16', 3, [1, 2, 3.5]),
      row('ort-jsep', 'fp32', 10, [1, 2.25, 3]),
      { ...blankRow(workload('mlp'), { id: 'tfjs-webgpu', backend: 'x' }, 'adapter', 'fp32', 1, 0), skipped: 'no' },
    ]);
    expect(rows.map((r) => r.warmRatioToKiln)).toEqual([null, 1.5, 5, null]);
    expect(rows.map((r) => r.maxAbsDiffVsKiln)).toEqual([null, 0.5, 0.25, null]);
    expect(summarize([5, 1, 4, 2])).toEqual({ median: 3, min: 1, max: 5 });
  });

  it('pools the trials\' runs into the warm figures and spreads the ratio over paired trials', () => {
    const w = workload('matmul-512');
    const trial = (times: number[]) => ({ times, dispatches: 1, submits: 1, readbacks: 1, sample: { length: 1, indices: [0], values: [0] }, countNote: null });
    const loaded = (system: string): ChildRow => ({ ...blankRow(w, { id: system, backend: system }, 'adapter', 'fp32', 1, 0), coldMs: 5 });
    // kiln: trials with medians 2, 4, 2; the peer: 6, 8, 10 -> per-trial ratios 3, 2, 5.
    const kiln = rowFromTrials(loaded('kiln'), w, [trial([1, 2, 3]), trial([4, 4, 4]), trial([2, 2, 9])]);
    const peer = rowFromTrials(loaded('ort-jsep'), w, [trial([6]), trial([8]), trial([10])]);
    expect(kiln).toMatchObject({ runs: 9, warmMedianMs: 3, warmMinMs: 1, warmMaxMs: 9, trialMediansMs: [2, 4, 2] });
    expect(kiln.gflops).toBeCloseTo(w.flops! / 3e6);
    const rows = resultRows([kiln, peer]);
    expect(rows[1]).toMatchObject({ warmRatioToKiln: 8 / 3, trialRatioMin: 2, trialRatioMax: 5 });
    expect(trialRatios([6, 8], [2, 4, 2])).toEqual([3, 2]);
    const md = markdownReport(rows, [], [w], { runs: 3, trials: 3, warmup: 0, date: 'today', node: 'v', totalS: 1, load: { before: 0.5, after: 3, cores: 2 }, busy: true, extraNotes: [] });
    expect(md).toContain('load average before 0.50, after 3.00 (2 cores)');
    expect(md).toContain('--busy');
    expect(md).toMatch(/^\| matmul-512 \| 2\.67× \(2\.00–5\.00\) \|$/m);
    expect(md).not.toContain('--contention');
    expect(rows[1]).toMatchObject({ busy: null, busyRatioToKiln: null, busyTrialRatioMin: null });
  });

  it('with --contention, keeps the busy passes apart and pairs each with its own trial\'s quiet one', () => {
    const w = workload('matmul-512');
    const trial = (times: number[]) => ({ times, dispatches: 1, submits: 1, readbacks: 1, sample: { length: 1, indices: [0], values: [0] }, countNote: null });
    const loaded = (system: string): ChildRow => ({ ...blankRow(w, { id: system, backend: system }, 'adapter', 'fp32', 1, 0), coldMs: 5 });
    // Quiet: kiln 2, 4; the peer 6, 8 (ratios 3, 2). Busy: kiln 4, 4; the peer 6, 16 (ratios 1.5, 4).
    const kiln = rowFromTrials(loaded('kiln'), w, [trial([2]), trial([4])], [trial([4]), trial([3, 5])]);
    const peer = rowFromTrials(loaded('ort-jsep'), w, [trial([6]), trial([8])], [trial([6]), trial([16])]);
    expect(kiln).toMatchObject({ warmMedianMs: 3, runs: 2, trialMediansMs: [2, 4], busy: { warmMedianMs: 4, warmMinMs: 3, warmMaxMs: 5, runs: 3, trialMediansMs: [4, 4] } });
    const rows = resultRows([kiln, peer]);
    expect(rows[0]).toMatchObject({ warmRatioToKiln: null, busyRatioToKiln: null });
    expect(rows[1]).toMatchObject({ warmRatioToKiln: 7 / 3, trialRatioMin: 2, trialRatioMax: 3, busyRatioToKiln: 11 / 4, busyTrialRatioMin: 1.5, busyTrialRatioMax: 4 });
    const md = markdownReport(rows, [], [w], { runs: 2, trials: 2, warmup: 0, date: 'today', node: 'v', totalS: 1, contention: true, extraNotes: [] });
    expect(md).toContain('### Beside a busy-looping process (--contention)');
    // moved: (11/4) / (7/3) = 1.18; per trial 1.5 / 3 = 0.5 and 4 / 2 = 2.
    expect(md).toMatch(/^\| matmul-512 \| ort-jsep \| 3\.00 \| 4\.00 \| 7\.00 \| 11\.0 \| 2\.33× \(2\.00–3\.00\) \| 2\.75× \(1\.50–4\.00\) \| 1\.18 \(0\.50–2\.00\) \|$/m);
  });
});

describe('bench: machine load', () => {
  it('warns when the load average passed half the cores, before or after', () => {
    expect(loadWarning({ load1: 0.4, cores: 2 }, { load1: 0.9, cores: 2 }, false)).toBeNull();
    expect(loadWarning({ load1: 0.4, cores: 2 }, { load1: 1.6, cores: 2 }, false)).toMatch(/busy: load average 1\.60 > 1\.0/);
    expect(loadWarning({ load1: 2, cores: 2 }, { load1: 0.1, cores: 2 }, true)).toMatch(/includes the busy-looping job/);
  });
});
