import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
