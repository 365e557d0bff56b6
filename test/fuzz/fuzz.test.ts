// Seeded fuzzing of everything kiln reads from a user: ONNX files, IR text and artifacts. Each
// mutant must be accepted or refused with a kiln error class and a message: never a raw
// JavaScript error (TypeError, RangeError, ...), a crash or a hang. Mutations known to make an
// input invalid must be refused, and loading an artifact folder must open no file outside it.
// KILN_FUZZ_SCALE=N runs N times as many mutants (the default fits CI's time).
import * as fs from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSegmented } from '../../src/compiler.js';
import { decodeModel, importOnnx } from '../../src/frontend/onnx/index.js';
import { Random } from '../../src/frontend/torch/random.js';
import { KilnError } from '../../src/ir/errors.js';
import { parseGraph } from '../../src/ir/parser.js';
import { graphWeights, printGraph } from '../../src/ir/printer.js';
import type { TensorData } from '../../src/ir/tensor-data.js';
import { loadArtifact } from '../../src/runtime/artifact.js';
import { manifestText, packArtifact, type PackedArtifact } from '../../src/artifact-writer/pack.js';
import { loadArtifactDir } from '../../src/runtime/artifact-node.js';
import { optimize } from '../../src/compiler.js';
import { attr, buildModel, encodeModelObject, modelObject, node, OnnxType, tensor } from '../frontend/onnx/onnx-builder.js';
import { tinyProgram } from '../runtime/artifact-fixture.js';

const SCALE = Math.max(1, Number(process.env['KILN_FUZZ_SCALE'] ?? 1));

type Outcome = 'accepted' | 'refused' | 'raw';
interface Tally { accepted: number; refused: number; raw: number; examples: string[] }
const tallies = new Map<string, Tally>();

/** Runs `attempt`, classifying how it ended; a raw error keeps an example for the report. */
function classify(kind: string, label: string, attempt: () => void): Outcome {
  const t = tallies.get(kind) ?? { accepted: 0, refused: 0, raw: 0, examples: [] };
  tallies.set(kind, t);
  try {
    attempt();
    t.accepted++;
    return 'accepted';
  } catch (e) {
    if (e instanceof KilnError && e.message.trim().length > 0) {
      t.refused++;
      return 'refused';
    }
    t.raw++;
    if (t.examples.length < 5) t.examples.push(`${label}: ${(e as Error)?.name}: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
    return 'raw';
  }
}

async function classifyAsync(kind: string, label: string, attempt: () => Promise<void>): Promise<Outcome> {
  let error: unknown;
  let ok = false;
  try {
    await attempt();
    ok = true;
  } catch (e) {
    error = e;
  }
  return classify(kind, label, () => {
    if (!ok) throw error;
  });
}

const pick = <T>(rng: Random, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
const INTERESTING = [-1, 0, 1, 2, 3, 7, 255, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, -(2 ** 31), 1e15];

/** Every [container, key] of a plain-object tree (protobuf objects decoded as plain data). */
function slots(root: unknown): [Record<string | number, unknown>, string | number][] {
  const out: [Record<string | number, unknown>, string | number][] = [];
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    for (const k of Object.keys(v)) {
      out.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
      walk((v as Record<string, unknown>)[k]);
    }
  };
  walk(root);
  return out;
}

/** One structural mutation somewhere in `obj` (in place): a number, a string, a list or a field. */
function mutateTree(obj: unknown, rng: Random, names: readonly string[]): void {
  const all = slots(obj);
  if (!all.length) return;
  const [box, key] = pick(rng, all);
  const v = box[key];
  if (typeof v === 'number') box[key] = rng.next() < 0.8 ? pick(rng, INTERESTING) : v + pick(rng, [-1, 1]);
  else if (typeof v === 'string') box[key] = rng.next() < 0.7 && names.length ? pick(rng, names) : pick(rng, ['', 'x', 'Relu', 'MatMul', 'ai.onnx.ml', '\u0000']);
  else if (Array.isArray(v)) {
    const r = rng.next();
    if (r < 0.4 && v.length) v.splice(Math.floor(rng.next() * v.length), 1);
    else if (r < 0.8 && v.length) v.push(structuredClone(v[Math.floor(rng.next() * v.length)]));
    else v.length = 0;
  } else if (ArrayBuffer.isView(v)) {
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    if (bytes.length) bytes[Math.floor(rng.next() * bytes.length)] ^= 1 << Math.floor(rng.next() * 8);
  } else if (Array.isArray(box)) box.splice(Number(key), 1);
  else delete box[key];
}

/** One byte-level mutation: flips, a cut, a spliced run of random bytes. */
function mutateBytes(bytes: Uint8Array, rng: Random): Uint8Array {
  const b = new Uint8Array(bytes); // a copy (Buffer's slice would be a view)
  const r = rng.next();
  if (r < 0.4) {
    for (let k = 0; k < 1 + Math.floor(rng.next() * 4); k++) b[Math.floor(rng.next() * b.length)] ^= 1 << Math.floor(rng.next() * 8);
    return b;
  }
  if (r < 0.6) return b.subarray(0, Math.floor(rng.next() * b.length));
  const at = Math.floor(rng.next() * b.length);
  const junk = Uint8Array.from({ length: 1 + Math.floor(rng.next() * 8) }, () => Math.floor(rng.next() * 256));
  return Uint8Array.from([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
}

// ---- ONNX seeds: small models covering initializers, attributes, subgraphs and shape parameters

const W = (name: string, dims: number[]) => tensor(name, OnnxType.FLOAT, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => (i % 5) - 2));
const ONNX_SEEDS: Record<string, Uint8Array> = {
  relu: buildModel({ inputs: [{ name: 'x', dims: [2, 3] }], outputs: [{ name: 'y' }], nodes: [node('Relu', ['x'], ['y'])] }),
  conv: buildModel({
    inputs: [{ name: 'x', dims: [1, 2, 6, 6] }], outputs: [{ name: 'y' }], initializers: [W('w', [3, 2, 3, 3]), W('b', [3])],
    nodes: [
      node('Conv', ['x', 'w', 'b'], ['c'], { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) }),
      node('Relu', ['c'], ['r']), node('MaxPool', ['r'], ['y'], { kernel_shape: attr.ints([2, 2]) }),
    ],
  }),
  mlp: buildModel({
    inputs: [{ name: 'x', dims: [4, 8] }], outputs: [{ name: 'y' }], initializers: [W('w', [8, 5]), W('b', [5])],
    nodes: [node('MatMul', ['x', 'w'], ['m']), node('Add', ['m', 'b'], ['a']), node('Softmax', ['a'], ['y'], { axis: attr.i(-1) })],
  }),
  shapes: buildModel({
    inputs: [{ name: 'x', dims: [2, 3, 4] }], outputs: [{ name: 'y' }],
    initializers: [tensor('shape', OnnxType.INT64, [2], [6, 4]), tensor('starts', OnnxType.INT64, [1], [1]), tensor('ends', OnnxType.INT64, [1], [3])],
    nodes: [
      node('Reshape', ['x', 'shape'], ['r']), node('Transpose', ['r'], ['t'], { perm: attr.ints([1, 0]) }),
      node('Slice', ['t', 'starts', 'ends'], ['s']), node('Concat', ['s', 's'], ['c'], { axis: attr.i(0) }),
      node('ReduceMean', ['c'], ['y'], { axes: attr.ints([1]), keepdims: attr.i(0) }),
    ],
  }),
};

/** Mutations that make any of the seeds invalid: each must be refused. */
const INVALIDATE: Record<string, (m: any) => void> = {
  'a negative dimension with no shape bound': (m) => { m.graph.input[0].type.tensor_type.shape.dim[0] = { dim_value: -1 }; },
  'a duplicate initializer': (m) => { (m.graph.initializer ??= []).push(W('dup', [1]), W('dup', [1])); },
  'a node reading a name nothing defines': (m) => { m.graph.node[0].input[0] = 'nowhere'; },
  'an output nothing produces': (m) => { m.graph.output[0].name = 'nothing'; },
  'an unknown op type': (m) => { m.graph.node[0].op_type = 'NoSuchOp'; },
  'two nodes writing one name': (m) => { m.graph.node.push({ ...m.graph.node.at(-1), name: 'again' }); },
  'no opset import': (m) => { m.opset_import = []; },
  'an opset from the future': (m) => { m.opset_import = [{ domain: '', version: 99 }]; },
};

/** Ops an IR mutant may put in place of another: same operand counts, often still well-typed. */
const SWAPPABLE_OPS = ['relu', 'sigmoid', 'tanh', 'exp', 'neg', 'abs', 'gelu', 'add', 'mul', 'sub', 'div', 'maximum', 'matmul', 'transpose', 'softmax', 'cast', 'reshape', 'fused', 'conv2d'];

describe('fuzzing', () => {
  it(`ONNX files: ${200 * SCALE} structural and ${200 * SCALE} byte mutants give kiln errors or models that compile`, () => {
    const rng = new Random(20261205);
    for (const [seedName, bytes] of Object.entries(ONNX_SEEDS)) {
      const names = [...new Set(JSON.stringify(decodeModel(bytes)).match(/"name":"[^"]*"/g)?.map((s) => s.slice(8, -1)) ?? [])];
      for (let i = 0; i < 50 * SCALE; i++) {
        const model = structuredClone(decodeModel(bytes)) as unknown;
        for (let k = 0; k < 1 + Math.floor(rng.next() * 3); k++) mutateTree(model, rng, names);
        let encoded: Uint8Array;
        try {
          encoded = encodeModelObject(model as Record<string, unknown>);
        } catch {
          continue; // not encodable as a ModelProto: the byte mutants cover malformed files
        }
        classify('onnx (structural)', `${seedName} #${i}`, () => compileSegmented(importOnnx(encoded)));
      }
      for (let i = 0; i < 50 * SCALE; i++) {
        const mutant = mutateBytes(bytes, rng);
        classify('onnx (bytes)', `${seedName} #${i}`, () => compileSegmented(importOnnx(mutant)));
      }
    }
    for (const t of ['onnx (structural)', 'onnx (bytes)']) expect(tallies.get(t)!.examples).toEqual([]);
  });

  it('ONNX files made invalid on purpose are all refused', () => {
    const accepted: string[] = [];
    for (const [seedName, bytes] of Object.entries(ONNX_SEEDS)) {
      for (const [what, edit] of Object.entries(INVALIDATE)) {
        const model = structuredClone(decodeModel(bytes)) as any;
        edit(model);
        const encoded = encodeModelObject(model);
        if (classify('onnx (invalid)', `${seedName}: ${what}`, () => compileSegmented(importOnnx(encoded))) === 'accepted') accepted.push(`${seedName}: ${what}`);
      }
    }
    expect(tallies.get('onnx (invalid)')!.examples).toEqual([]);
    expect(accepted).toEqual([]);
  });

  it(`IR text: ${300 * SCALE} mutants of printed graphs (fused -O2 dumps included) give kiln errors or graphs that compile`, () => {
    const rng = new Random(7);
    // Each seed is a model's IR text before and after -O2, with its model's weights.
    const seeds = Object.values(ONNX_SEEDS).flatMap((b) => {
      const g = importOnnx(b);
      const o = optimize(g).graph;
      const weights = new Map<string, TensorData>([...graphWeights(g), ...graphWeights(o)]);
      return [{ text: printGraph(g), weights }, { text: printGraph(o), weights }];
    });
    for (const { text, weights } of seeds) compileSegmented(parseGraph(text, { weights })); // the seeds themselves compile
    for (let i = 0; i < 300 * SCALE; i++) {
      const seed = pick(rng, seeds);
      const lines = seed.text.split('\n');
      for (let k = 0; k < 1 + Math.floor(rng.next() * 2); k++) {
        const at = Math.floor(rng.next() * lines.length);
        const tokens = lines[at]!.split(/(\s+|[(),:=[\]{}])/);
        const r = rng.next();
        const call = /= (\w+)\(/.exec(lines[at]!);
        if (call && r < 0.4) lines[at] = lines[at]!.replace(`= ${call[1]}(`, `= ${pick(rng, SWAPPABLE_OPS)}(`);
        else if (r < 0.5) lines.splice(at, 1);
        else if (r < 0.6) lines.splice(at, 0, lines[Math.floor(rng.next() * lines.length)]!);
        else {
          const t = Math.floor(rng.next() * tokens.length);
          const other = pick(rng, pick(rng, seeds).text.split(/(\s+|[(),:=[\]{}])/).filter((x) => x.trim()));
          tokens[t] = rng.next() < 0.5 ? other : pick(rng, ['0', '-1', '99999999999', 'f16', 'i32', 'relu', 'matmul', 'fused', '%x', '"', '{', '', 'NaN']);
          lines[at] = tokens.join('');
        }
      }
      const text = lines.join('\n');
      classify('IR text', `#${i}`, () => compileSegmented(parseGraph(text, { weights: seed.weights })));
    }
    expect(tallies.get('IR text')!.examples).toEqual([]);
  });

  describe('artifacts', async () => {
    const packed: PackedArtifact = await packArtifact(tinyProgram().program);
    const manifest = JSON.parse(manifestText(packed.manifest)) as unknown;
    const files = (m: unknown) => ({ manifest: typeof m === 'string' ? m : JSON.stringify(m), kernels: packed.kernels, weights: packed.weights });

    it(`${300 * SCALE} manifest mutants, none signed again, are all refused (or change nothing parsed)`, async () => {
      const rng = new Random(99);
      const original = (await loadArtifact(files(manifest))).variants.map((v) => JSON.stringify({ ...v.program, weights: undefined }));
      const accepted: string[] = [];
      for (let i = 0; i < 300 * SCALE; i++) {
        const m = structuredClone(manifest);
        mutateTree(m, rng, ['weights.bin', 'kernels/000.wgsl', '../x', '/etc/passwd', 'https://example.invalid/a']);
        let loaded: Awaited<ReturnType<typeof loadArtifact>> | undefined;
        const outcome = await classifyAsync('artifact manifests', `#${i}`, async () => { loaded = await loadArtifact(files(m)); });
        if (outcome === 'accepted') {
          const now = loaded!.variants.map((v) => JSON.stringify({ ...v.program, weights: undefined }));
          if (now.join() !== original.join()) accepted.push(`#${i}: ${JSON.stringify(m).slice(0, 80)}`);
        }
      }
      expect(tallies.get('artifact manifests')!.examples).toEqual([]);
      expect(accepted).toEqual([]);
    });

    it(`${100 * SCALE} byte mutants of kernels, weights and manifest text are refused`, async () => {
      const rng = new Random(5);
      const text = manifestText(packed.manifest);
      const kernelNames = Object.keys(packed.kernels);
      for (let i = 0; i < 100 * SCALE; i++) {
        const which = pick(rng, ['manifest', 'kernel', 'weights'] as const);
        const enc = new TextEncoder();
        const f = which === 'manifest'
          ? { ...files(new TextDecoder().decode(mutateBytes(enc.encode(text), rng))) }
          : which === 'kernel'
            ? (() => { const k = pick(rng, kernelNames); return { ...files(manifest), kernels: { ...packed.kernels, [k]: new TextDecoder().decode(mutateBytes(enc.encode(packed.kernels[k]!), rng)) } }; })()
            : { ...files(manifest), weights: Object.fromEntries(Object.entries(packed.weights).map(([k, w]) => [k, mutateBytes(w, rng)])) };
        const outcome = await classifyAsync('artifact files', `#${i} (${which})`, async () => { await loadArtifact(f); });
        // A mutation may leave the bytes as they were (a cut at the very end, say); anything else is damage.
        if (outcome === 'accepted') {
          const same = which === 'manifest' ? f.manifest === text : which === 'kernel' ? kernelNames.every((k) => f.kernels[k] === packed.kernels[k])
            : Object.entries(f.weights as Record<string, Uint8Array>).every(([k, w]) => Buffer.from(w).equals(Buffer.from(packed.weights[k]!)));
          expect(same, `mutant #${i} of the ${which} was accepted`).toBe(true);
        }
      }
      expect(tallies.get('artifact files')!.examples).toEqual([]);
    });

    it('loading artifact folders whose manifests point outside them opens no file outside the folder', async () => {
      const root = await mkdtemp(join(tmpdir(), 'kiln-fuzz-'));
      const dir = join(root, 'model.kiln');
      fs.mkdirSync(join(dir, 'kernels'), { recursive: true });
      for (const [name, wgsl] of Object.entries(packed.kernels)) await writeFile(join(dir, name), wgsl);
      for (const [name, w] of Object.entries(packed.weights)) await writeFile(join(dir, name), w);
      const opened: string[] = [];
      const original = fs.promises.readFile;
      fs.promises.readFile = ((path: fs.PathLike, ...rest: unknown[]) => {
        opened.push(resolve(String(path)));
        return (original as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
      }) as typeof original;
      syncBuiltinESMExports();
      try {
        const rng = new Random(3);
        const escapes = ['../outside.wgsl', '/etc/passwd', 'kernels/../../outside', 'file:///etc/passwd', 'https://example.invalid/k.wgsl', 'C:\\\\x', '..', '~/x'];
        for (let i = 0; i < 40 * SCALE; i++) {
          const m = structuredClone(manifest) as any;
          const v = m.variants[0];
          const target = pick(rng, ['kernel', 'weights', 'ir'] as const);
          if (target === 'kernel') v.program.kernels[0].file = pick(rng, escapes);
          else if (target === 'weights') v.weights.file = pick(rng, escapes);
          else v.ir = { final: pick(rng, escapes) };
          await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
          await classifyAsync('artifact folders', `#${i}`, async () => { await loadArtifactDir(dir); });
        }
      } finally {
        fs.promises.readFile = original;
        syncBuiltinESMExports();
      }
      const outside = opened.filter((p) => !p.startsWith(resolve(dir)));
      expect(opened.length).toBeGreaterThan(0); // the interception saw the loader's reads
      expect(outside).toEqual([]);
      expect(tallies.get('artifact folders')!.examples).toEqual([]);
      expect(tallies.get('artifact folders')!.accepted).toBe(0);
    });
  });

  afterAll(() => {
    const lines = [...tallies].map(([k, t]) => `  ${k}: ${t.accepted + t.refused + t.raw} mutants, ${t.accepted} accepted, ${t.refused} refused with a kiln error, ${t.raw} raw errors${t.examples.length ? `\n    ${t.examples.join('\n    ')}` : ''}`);
    console.log(`[fuzz] scale ${SCALE}\n${lines.join('\n')}`);
  });
});
