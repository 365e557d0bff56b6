import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/runtime/index.js';
import { buildModel, node } from '../frontend/onnx/onnx-builder.js';
import { useGpu } from '../helpers/gpu.js';

// A model whose weights sit in an external data file: the .onnx bytes stay the same when the
// weights change, so the compile cache must not hand back the program of the old weights.
describe('the compile cache and external data', () => {
  const gpu = useGpu();
  it('new weights in the external file compile anew; the same weights hit the cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-external-'));
    const cache = mkdtempSync(join(tmpdir(), 'kiln-external-cache-'));
    const w = { name: 'w', data_type: 1, dims: [2, 3], data_location: 1, external_data: [{ key: 'location', value: 'weights.bin' }] };
    const modelPath = join(dir, 'model.onnx');
    writeFileSync(modelPath, buildModel({ inputs: [{ name: 'x', dims: [2, 3] }], outputs: [{ name: 'out' }], nodes: [node('Add', ['x', 'w'], ['out'])], initializers: [w] }));
    const runWith = async (weight: number): Promise<number[]> => {
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(new Float32Array(6).fill(weight).buffer));
      const session = await InferenceSession.create(modelPath, { device: gpu(), compileCache: cache });
      try {
        const out = await session.run({ x: new Tensor('float32', Float32Array.of(0, 1, 2, 3, 4, 5), [2, 3]) });
        return Array.from(out['out']!.data as Float32Array);
      } finally {
        await session.release();
      }
    };
    expect(await runWith(1)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await runWith(100)).toEqual([100, 101, 102, 103, 104, 105]);
    expect(readdirSync(cache)).toHaveLength(2);
    expect(await runWith(1)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(readdirSync(cache)).toHaveLength(2);
  });

  it('a model given as bytes takes its external files as ONNX Runtime\'s externalData option gives them', async () => {
    const w = { name: 'w', data_type: 1, dims: [2, 3], data_location: 1, external_data: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '8' }] };
    const model = buildModel({ inputs: [{ name: 'x', dims: [2, 3] }], outputs: [{ name: 'out' }], nodes: [node('Mul', ['x', 'w'], ['out'])], initializers: [w] });
    const weights = new Uint8Array(8 + 24);
    weights.set(new Uint8Array(Float32Array.of(1, 2, 3, 4, 5, 6).buffer), 8);
    const x = Float32Array.of(2, 2, 2, 3, 3, 3);
    const reference = await ort.InferenceSession.create(model, { externalData: [{ path: 'weights.bin', data: weights }] });
    const want = Array.from((await reference.run({ x: new ort.Tensor('float32', x, [2, 3]) }))['out']!.data as Float32Array);
    await reference.release();
    expect(want).toEqual([2, 4, 6, 12, 15, 18]);
    const session = await InferenceSession.create(model, { device: gpu(), compileCache: false, externalData: [{ path: 'weights.bin', data: weights }] });
    try {
      expect(Array.from((await session.run({ x: new Tensor('float32', x, [2, 3]) }))['out']!.data as Float32Array)).toEqual(want);
    } finally {
      await session.release();
    }
    await expect(InferenceSession.create(model, { device: gpu(), compileCache: false })).rejects.toThrow(/tensor 'w' is stored in the external file 'weights.bin'/);
    await expect(InferenceSession.create(model, { device: gpu(), compileCache: false, externalData: [{ path: 'other.bin', data: weights }] }))
      .rejects.toThrow(/'weights.bin', which externalData does not give \(it gives 'other.bin'\)/);
  });
});
