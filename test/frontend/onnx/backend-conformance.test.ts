// The ONNX project's backend test cases (../shared/onnx-backend-tests, see its README): every
// case is imported, compiled and run on WebGPU, and its outputs compared with the expected ones
// within the ONNX runner's tolerance. A case either passes, or is refused at import with kiln's
// UnsupportedOnnxError (counted as skipped, with the reason), or is listed below as a known
// failure with its reason. Anything else (a wrong answer, another error) fails the test.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, compileSegmented } from '../../../src/compiler.js';
import { hasGpuLowering } from '../../../src/codegen/lower/index.js';
import type { Graph } from '../../../src/ir/graph.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import { decodeModel, decodeTensor, importModel, readTensor, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import type { TensorProtoObject } from '../../../src/frontend/onnx/proto.js';
import type { TensorData } from '../../../src/ir/tensor-data.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';
import { f16BitsToF32 } from '../../../src/ir/f16.js';

const ROOT = process.env['KILN_ONNX_BACKEND_TESTS'] ?? fileURLToPath(new URL('../../../../shared/onnx-backend-tests', import.meta.url));

/** The ONNX backend runner's default tolerance (onnx/backend/test/runner: rtol=1e-3, atol=1e-7). */
const RTOL = 1e-3;
const ATOL = 1e-7;

/**
 * Cases that run but do not match, each with its reason. Every entry must still fail: a known
 * failure that starts passing is reported so the list stays honest.
 */
const KNOWN_FAILURES: Readonly<Record<string, string>> = {};

interface Case {
  readonly id: string;
  readonly dir: string;
}

function listCases(): Case[] {
  if (!existsSync(ROOT)) return [];
  const out: Case[] = [];
  for (const group of readdirSync(ROOT).sort()) {
    const gdir = join(ROOT, group);
    if (!existsSync(join(gdir)) || group.includes('.') || group === 'LICENSE') continue;
    for (const name of readdirSync(gdir).sort()) {
      if (existsSync(join(gdir, name, 'model.onnx'))) out.push({ id: `${group}/${name}`, dir: join(gdir, name) });
    }
  }
  return out;
}

/** Decodes a test data set's input_k.pb / output_k.pb files in order. */
function decodeTensors(dir: string, prefix: 'input' | 'output'): TensorProtoObject[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${prefix}_`) && f.endsWith('.pb'));
  files.sort((a, b) => Number(a.slice(prefix.length + 1, -3)) - Number(b.slice(prefix.length + 1, -3)));
  return files.map((f) => decodeTensor(readFileSync(join(dir, f)), f));
}

/** The tensors of a test data set as kiln host data (int64 as i32, double as f32). */
function readTensors(dir: string, prefix: 'input' | 'output'): TensorData[] {
  return decodeTensors(dir, prefix).map((t, i) => readTensor(t, undefined, `${prefix}_${i}`).data);
}

function numbers(t: TensorData): number[] {
  return t.dtype === 'f16' ? Array.from(t.data as Uint16Array, f16BitsToF32) : Array.from(t.data as ArrayLike<number>);
}

/** The first element outside |got - want| <= atol + rtol * |want|, or undefined when all match. */
function mismatch(got: TensorData, want: TensorData): string | undefined {
  if (got.shape.join(',') !== want.shape.join(',')) return `shape [${got.shape.join(',')}] but expected [${want.shape.join(',')}]`;
  const g = numbers(got);
  const w = numbers(want);
  let bad = 0;
  let first = -1;
  let worst = 0;
  for (let i = 0; i < w.length; i++) {
    const [x, y] = [g[i]!, w[i]!];
    const same = Number.isNaN(y) ? Number.isNaN(x) : x === y || Math.abs(x - y) <= ATOL + RTOL * Math.abs(y);
    if (!same) {
      bad++;
      if (first < 0) first = i;
      worst = Math.max(worst, Number.isNaN(x - y) ? Infinity : Math.abs(x - y));
    }
  }
  return bad ? `${bad} of ${w.length} elements differ (first at ${first}: got ${g[first]}, expected ${w[first]}; max abs diff ${worst})` : undefined;
}

/** A compiled case: one WebGPU Session, or segments when some op has only a CPU kernel. */
interface Runner {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  destroy(): void;
}

async function load(device: Parameters<typeof Session.create>[0], graph: Graph): Promise<Runner> {
  if (graph.nodes.every((n) => n.op === 'const' || hasGpuLowering(n.op))) {
    const s = await Session.create(device, compile(graph));
    return { inputs: s.program.inputs.map((p) => p.name), outputs: s.program.outputs.map((o) => o.name), run: (f) => s.run(f), destroy: () => s.destroy() };
  }
  const s = await SegmentedSession.create(device, compileSegmented(graph));
  return { inputs: s.program.inputs, outputs: s.program.outputs, run: (f) => s.run(f), destroy: () => s.destroy() };
}

type Outcome = { kind: 'pass' } | { kind: 'unsupported'; reason: string } | { kind: 'fail'; reason: string };

const cases = listCases();
const outcomes = new Map<string, Outcome>();

describe.skipIf(cases.length === 0)('ONNX backend test cases', () => {
  const gpu = useGpu();

  async function runCase(c: Case): Promise<Outcome> {
    const model = decodeModel(readFileSync(join(c.dir, 'model.onnx')), `${c.id}/model.onnx`);
    const sets = readdirSync(c.dir).filter((d) => d.startsWith('test_data_set_')).sort();
    const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name));
    const inputNames = (model.graph?.input ?? []).map((v) => v.name ?? '').filter((n) => !initializers.has(n));
    const firstInputs = sets.length ? decodeTensors(join(c.dir, sets[0]!), 'input') : [];
    // Symbolic dimensions are bound to the test data's shapes (inputs are given in order).
    const inputShapes = Object.fromEntries(firstInputs.map((t, i) => [inputNames[i]!, t.dims ?? []]));
    let session: Runner;
    try {
      const graph = importModel(model, { inputShapes });
      session = await load(gpu(), graph);
    } catch (e) {
      if (e instanceof UnsupportedOnnxError) return { kind: 'unsupported', reason: e.message };
      return { kind: 'fail', reason: `${(e as Error).name}: ${(e as Error).message}` };
    }
    try {
      for (const set of sets) {
        const inputs = readTensors(join(c.dir, set), 'input');
        const expected = readTensors(join(c.dir, set), 'output');
        const feeds = Object.fromEntries(session.inputs.map((name, i) => [name, inputs[i]!]));
        const got = await session.run(feeds);
        const names = session.outputs;
        if (names.length !== expected.length) return { kind: 'fail', reason: `${set}: ${names.length} outputs, expected ${expected.length}` };
        for (let i = 0; i < names.length; i++) {
          const problem = mismatch(got[names[i]!]!, expected[i]!);
          if (problem) return { kind: 'fail', reason: `${set} output ${i} ('${names[i]}'): ${problem}` };
        }
      }
      return { kind: 'pass' };
    } catch (e) {
      return { kind: 'fail', reason: `${(e as Error).name}: ${(e as Error).message}` };
    } finally {
      session.destroy();
    }
  }

  for (const c of cases) {
    it(c.id, async () => {
      const outcome = await runCase(c);
      outcomes.set(c.id, outcome);
      const known = KNOWN_FAILURES[c.id];
      if (known) {
        expect(outcome.kind, `${c.id} is listed as a known failure (${known}) but it now ${outcome.kind === 'pass' ? 'passes: remove it from KNOWN_FAILURES' : 'is unsupported'}`).toBe('fail');
        return;
      }
      if (outcome.kind === 'fail') expect.fail(`${c.id}: ${outcome.reason}`);
    });
  }

  // Runs after every case above (tests in a file run in order).
  it('passes at least 60 of the pytorch-converted and pytorch-operator cases', () => {
    const pytorch = [...outcomes].filter(([id, o]) => id.startsWith('pytorch-') && o.kind === 'pass');
    expect(pytorch.length).toBeGreaterThanOrEqual(60);
  });

  afterAll(() => {
    const by = (k: Outcome['kind']) => [...outcomes].filter(([, o]) => o.kind === k);
    const lines = [
      `[onnx backend] ${ROOT}: ${cases.length} cases, ${by('pass').length} passed, ${by('unsupported').length} unsupported, ${by('fail').length} failed (${Object.keys(KNOWN_FAILURES).length} known)`,
      ...by('unsupported').map(([id, o]) => `  unsupported ${id}: ${(o as { reason: string }).reason.split('\n').join(' ')}`),
      ...by('fail').map(([id, o]) => `  failed ${id}: ${(o as { reason: string }).reason}`),
    ];
    console.log(lines.join('\n'));
  });
});

describe.runIf(cases.length === 0)('ONNX backend test cases (absent)', () => {
  it('says so plainly when the test data folder is missing', (ctx) => {
    console.warn(`[onnx backend] ${ROOT} is absent: the ONNX backend conformance cases were NOT run`);
    ctx.skip(`ONNX backend test data not found at ${ROOT}`);
  });
});
