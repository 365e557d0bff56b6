import { describe, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, runBoth } from '../helpers/compare.js';

// The WebGPU max_pool2d_indices kernel (ONNX MaxPool's Indices) against the CPU reference:
// ties (the first maximum in window order), NaN (the first NaN), int32 values, padding,
// dilation, ceil mode and column-major indices.

describe('max_pool2d_indices on WebGPU', () => {
  const gpu = useGpu();

  it('picks what max_pool2d picks, in row- or column-major flat indices, equal to the CPU reference', async () => {
    const rng = new Random(3);
    const shape = [2, 3, 7, 9];
    const n = shape.reduce((a, b) => a * b, 1);
    // Small integers make ties; a few NaNs.
    const floats = Array.from({ length: n }, (_, i) => (i % 23 === 5 ? NaN : Math.round(rng.uniform(-3, 3))));
    const ints = Array.from({ length: n }, () => Math.round(rng.uniform(-5, 5)));
    const windows: Record<string, number[] | boolean>[] = [
      { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] },
      { kernel_size: [2, 3], stride: [1, 2], padding: [0, 1, 0, 1], dilation: [2, 1] },
      { kernel_size: [3, 2], stride: [2, 2], padding: [0, 0, 0, 0], ceil_mode: true },
    ];
    for (const [dtype, values] of [['f32', floats], ['i32', ints]] as const) {
      for (const w of windows) {
        for (const columnMajor of [false, true]) {
          const g = new Graph('idx');
          const x = g.addInput('x', { dtype, shape, device: 'webgpu' });
          const y = g.addNode('max_pool2d_indices', [x], { ...w, column_major: columnMajor }).output;
          g.setOutputs([y]);
          const { gpu: got, cpu: want } = await runBoth(gpu(), g, { x: tensorData(dtype, shape, values) });
          try {
            expectClose(got[y.name]!, want[y.name]!, 0, 0);
          } catch (e) {
            throw new Error(`${dtype}, ${JSON.stringify(w)}, column_major ${columnMajor}: ${(e as Error).message}`);
          }
        }
      }
    }
  });
});
