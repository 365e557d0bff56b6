// The ONNX project's backend test cases (../shared/onnx-backend-tests, see its README): every
// case is imported, compiled and run on WebGPU, and its outputs compared with the expected ones
// within the ONNX runner's tolerance. A case either passes, or is refused at import with kiln's
// UnsupportedOnnxError (counted as skipped, with the reason), or is listed below as a known
// failure with its reason. Anything else (a wrong answer, another error) fails the test.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSegmented } from '../../../src/compiler.js';
import { decodeModel, decodeValue, importModelForFeeds, readTensor, UnsupportedOnnxError, type ConstTensor, type TestValueProto } from '../../../src/frontend/onnx/index.js';
import type { ModelProtoObject, ValueInfoObject } from '../../../src/frontend/onnx/proto.js';
import { assembleOutputs, flattenInputs, isPlainLayout, type IoLayout, type IoValue } from '../../../src/runtime/io-layout.js';
import { stringsOf, type TensorData } from '../../../src/ir/tensor-data.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
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

/**
 * Cases whose expected data carry the rounding noise of the reference's float32 arithmetic where
 * the exact answer is zero, compared with a wider absolute tolerance (the bar, 1e-5): the
 * inverse DFTs expect 1.9e-7 where the exact value is 3e-15 (kiln's answer), beyond atol 1e-7.
 */
const ATOL_BY_CASE: Readonly<Record<string, number>> = {
  'node/test_dft_inverse': 1e-5,
  'node/test_dft_inverse_opset19': 1e-5,
};

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

/**
 * Decodes a test data set's input_k.pb / output_k.pb files in order, each as the type the model
 * declares for its k-th input or output: a tensor, a sequence, or an optional.
 */
function decodeValues(dir: string, prefix: 'input' | 'output', declared: readonly ValueInfoObject[]): TestValueProto[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${prefix}_`) && f.endsWith('.pb'));
  files.sort((a, b) => Number(a.slice(prefix.length + 1, -3)) - Number(b.slice(prefix.length + 1, -3)));
  return files.map((f, k) => decodeValue(readFileSync(join(dir, f)), declared[k]?.type, f));
}

/** A decoded value as kiln constants (int64 as i32, double as f32; int64 past i32 kept exactly). */
function readValue(v: TestValueProto, what: string): IoValue<ConstTensor> {
  if (v === null) return null;
  return Array.isArray(v) ? v.map((t, k) => readTensor(t, undefined, `${what}[${k}]`)) : readTensor(v, undefined, what);
}

/** The data of a structured value's constants. */
function dataOf(v: IoValue<ConstTensor>): IoValue<TensorData> {
  return v === null ? null : Array.isArray(v) ? v.map((c) => c.data) : (v as ConstTensor).data;
}

/** A test data set's inputs by the model's input names (given in order). */
function readFeeds(model: ModelProtoObject, dir: string): Record<string, IoValue<ConstTensor>> {
  const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (model.graph?.input ?? []).filter((v) => !initializers.has(v.name ?? ''));
  const protos = decodeValues(dir, 'input', inputs);
  return Object.fromEntries(inputs.flatMap((v, i) => (i < protos.length ? [[v.name ?? '', readValue(protos[i]!, `input_${i}`)]] : [])));
}

/** A test data set's expected outputs, in the model's order, as kiln host data. */
function readOutputs(model: ModelProtoObject, dir: string): IoValue<TensorData>[] {
  return decodeValues(dir, 'output', model.graph?.output ?? []).map((v, i) => dataOf(readValue(v, `output_${i}`)));
}

/** How a structured output differs from the expected one: presence, length, then item by item. */
function valueMismatch(got: IoValue<TensorData>, want: IoValue<TensorData>, atol?: number): string | undefined {
  if (want === null || got === null) return want === got ? undefined : want === null ? 'a value, but expected none (an absent optional)' : 'none, but expected a value';
  if (Array.isArray(want) !== Array.isArray(got)) return Array.isArray(want) ? 'a tensor, but expected a sequence' : 'a sequence, but expected a tensor';
  if (!Array.isArray(want)) return mismatch(got as TensorData, want as TensorData, atol);
  const items = got as readonly TensorData[];
  if (items.length !== want.length) return `a sequence of ${items.length} tensors, but expected ${want.length}`;
  for (let k = 0; k < want.length; k++) {
    const problem = mismatch(items[k]!, want[k]!, atol);
    if (problem) return `item ${k}: ${problem}`;
  }
  return undefined;
}

function numbers(t: TensorData): number[] {
  return t.dtype === 'f16' ? Array.from(t.data as Uint16Array, f16BitsToF32) : Array.from(t.data as ArrayLike<number>);
}

/** The first element outside |got - want| <= atol + rtol * |want|, or undefined when all match. */
function mismatch(got: TensorData, want: TensorData, atol = ATOL): string | undefined {
  if (got.shape.join(',') !== want.shape.join(',')) return `shape [${got.shape.join(',')}] but expected [${want.shape.join(',')}]`;
  if (got.dtype === 'string' || want.dtype === 'string') return stringMismatch(got, want);
  const g = numbers(got);
  const w = numbers(want);
  let bad = 0;
  let first = -1;
  let worst = 0;
  for (let i = 0; i < w.length; i++) {
    const [x, y] = [g[i]!, w[i]!];
    const same = Number.isNaN(y) ? Number.isNaN(x) : x === y || Math.abs(x - y) <= atol + RTOL * Math.abs(y);
    if (!same) {
      bad++;
      if (first < 0) first = i;
      worst = Math.max(worst, Number.isNaN(x - y) ? Infinity : Math.abs(x - y));
    }
  }
  return bad ? `${bad} of ${w.length} elements differ (first at ${first}: got ${g[first]}, expected ${w[first]}; max abs diff ${worst})` : undefined;
}

/** String outputs match exactly, element by element. */
function stringMismatch(got: TensorData, want: TensorData): string | undefined {
  if (got.dtype !== want.dtype) return `${got.dtype} elements but expected ${want.dtype}`;
  const [g, w] = [stringsOf(got), stringsOf(want)];
  const bad = w.findIndex((s, i) => g[i] !== s);
  return bad < 0 ? undefined : `element ${bad} is ${JSON.stringify(g[bad])}, expected ${JSON.stringify(w[bad])}`;
}

/**
 * A refusal's reason with what differs between cases removed, so that alike refusals group: node
 * names, tensor names and shapes go, op names and the rest of the message stay.
 */
function reasonKey(reason: string): string {
  return reason
    .replace(/node '(?:[^'\\]|\\.)*' \(/g, '(')
    .replace(/ \(\d+ nodes?, first: '[^']*'\)/g, '')
    .replace(/'[^'\n]*'/g, "'…'")
    .replace(/\[[\d, ]*\]/g, '[…]')
    .replace(/\s*\n\s*/g, ' ');
}

/** A case's model compiled for one data set and loaded on the device. */
interface Loaded {
  readonly session: SegmentedSession;
  readonly frozen: readonly string[];
  readonly layout: IoLayout;
}

type Outcome = { kind: 'pass' } | { kind: 'unsupported'; reason: string } | { kind: 'fail'; reason: string };

const cases = listCases();
const outcomes = new Map<string, Outcome>();

describe.skipIf(cases.length === 0)('ONNX backend test cases', () => {
  const gpu = useGpu();

  /**
   * Imports a case's model for one data set's feeds, as `kiln run` does, and loads it on the
   * device: ops without a WebGPU kernel run on the CPU between GPU segments, with transfers.
   */
  async function load(model: ModelProtoObject, feeds: Record<string, IoValue<ConstTensor>>): Promise<Loaded> {
    const { graph, frozen, layout } = importModelForFeeds(model, feeds);
    return { session: await SegmentedSession.create(gpu(), compileSegmented(graph)), frozen, layout };
  }

  async function runCase(c: Case): Promise<Outcome> {
    const model = decodeModel(readFileSync(join(c.dir, 'model.onnx')), `${c.id}/model.onnx`);
    const sets = readdirSync(c.dir).filter((d) => d.startsWith('test_data_set_')).sort();
    const outputNames = (model.graph?.output ?? []).map((v) => v.name ?? '');
    let loaded: Loaded | undefined;
    try {
      for (const set of sets.length ? sets : [undefined]) {
        let feeds: Record<string, IoValue<ConstTensor>>;
        try {
          feeds = set ? readFeeds(model, join(c.dir, set)) : {};
          // Inputs frozen to one data set's values are constants of its program, and sequences
          // and optionals fix their lengths and presence: the next set needs its own.
          if (!loaded || loaded.frozen.length || !isPlainLayout(loaded.layout)) {
            loaded?.session.destroy();
            loaded = undefined;
            loaded = await load(model, feeds);
          }
        } catch (e) {
          if (e instanceof UnsupportedOnnxError) return { kind: 'unsupported', reason: e.message };
          throw e;
        }
        if (!set) break;
        const { session, layout } = loaded;
        // Fed by name, as the ONNX runner does; sequences and optionals as their item tensors;
        // frozen inputs are not inputs of the program.
        const flat = flattenInputs(layout.inputs, Object.fromEntries(layout.inputs.map((e) => [e.name, dataOf(feeds[e.name] ?? null)])));
        const got = assembleOutputs(layout.outputs, await session.run(Object.fromEntries(session.program.inputs.map((name) => [name, flat[name]!]))));
        const expected = readOutputs(model, join(c.dir, set));
        if (outputNames.length !== expected.length) return { kind: 'fail', reason: `${set}: the model has ${outputNames.length} outputs, the data set ${expected.length}` };
        for (let i = 0; i < outputNames.length; i++) {
          const name = outputNames[i]!;
          const problem = Object.hasOwn(got, name) ? valueMismatch(got[name]!, expected[i]!, ATOL_BY_CASE[c.id]) : `no output '${name}' (the model's outputs: ${Object.keys(got).join(', ')})`;
          if (problem) return { kind: 'fail', reason: `${set} output ${i} ('${name}'): ${problem}` };
        }
      }
      return { kind: 'pass' };
    } catch (e) {
      return { kind: 'fail', reason: `${(e as Error).name}: ${(e as Error).message}` };
    } finally {
      loaded?.session.destroy();
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
    const all = [...outcomes];
    const count = (list: typeof all, k: Outcome['kind']) => list.filter(([, o]) => o.kind === k).length;
    const summary = (label: string, list: typeof all) =>
      `[onnx backend] ${label}: ${list.length} cases, ${count(list, 'pass')} passed, ${count(list, 'unsupported')} unsupported, ${count(list, 'fail')} failed`;
    const node = all.filter(([id]) => id.startsWith('node/'));
    const rest = all.filter(([id]) => !id.startsWith('node/'));
    const reasons = (list: typeof all) => {
      const groups = new Map<string, number>();
      for (const [, o] of list) if (o.kind === 'unsupported') groups.set(reasonKey(o.reason), (groups.get(reasonKey(o.reason)) ?? 0) + 1);
      return [...groups].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([r, n]) => `  ${String(n).padStart(4)}  ${r}`);
    };
    const lines = [
      `[onnx backend] ${ROOT}: ${all.length} cases, ${count(all, 'pass')} passed, ${count(all, 'unsupported')} unsupported, ${count(all, 'fail')} failed (${Object.keys(KNOWN_FAILURES).length} known)`,
      summary('node/', node),
      summary('others', rest),
      '[onnx backend] node/ refusals by reason:',
      ...reasons(node),
      '[onnx backend] other refusals by reason:',
      ...reasons(rest),
      ...all.filter(([, o]) => o.kind === 'unsupported').map(([id, o]) => `  unsupported ${id}: ${(o as { reason: string }).reason.split('\n').join(' ')}`),
      ...all.filter(([, o]) => o.kind === 'fail').map(([id, o]) => `  failed ${id}: ${(o as { reason: string }).reason}`),
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
