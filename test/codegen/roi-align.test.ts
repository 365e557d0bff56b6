import { describe, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, runBoth } from '../helpers/compare.js';

// The WebGPU roi_align kernel against the CPU reference (itself checked by the ONNX suite's
// RoiAlign cases): both modes and pixel conventions, fixed and adaptive sampling, a spatial
// scale, boxes reaching past the map, a box of zero size and one past its far corner.

describe('roi_align on WebGPU', () => {
  const gpu = useGpu();

  it('avg and max, half-pixel or not, sampling ratio 0 (adaptive) or 2, equal to the CPU reference', async () => {
    const rng = new Random(5);
    const [n, c, h, w] = [2, 3, 9, 11];
    const xs = Array.from({ length: n * c * h * w }, () => rng.normal());
    // (x1, y1, x2, y2) at twice the map's scale (spatial_scale 0.5).
    const boxes = [[2, 2, 14, 12], [-4, -3, 6, 8], [10, 6, 26, 20], [5, 5, 5, 5], [18, 4, 9, 16], [0.5, 1.5, 21.5, 17.5]];
    const batch = [0, 1, 1, 0, 0, 1];
    for (const mode of ['avg', 'max'] as const) {
      for (const halfPixel of [true, false]) {
        for (const samplingRatio of [0, 2]) {
          const g = new Graph('roi');
          const x = g.addInput('x', { dtype: 'f32', shape: [n, c, h, w], device: 'webgpu' });
          const rois = g.addInput('rois', { dtype: 'f32', shape: [boxes.length, 4], device: 'webgpu' });
          const b = g.addInput('b', { dtype: 'i32', shape: [boxes.length], device: 'webgpu' });
          const y = g.addNode('roi_align', [x, rois, b], { mode, output_height: 3, output_width: 4, sampling_ratio: samplingRatio, spatial_scale: 0.5, half_pixel: halfPixel }).output;
          g.setOutputs([y]);
          const { gpu: got, cpu: want } = await runBoth(gpu(), g, {
            x: tensorData('f32', [n, c, h, w], xs), rois: tensorData('f32', [boxes.length, 4], boxes.flat()), b: tensorData('i32', [boxes.length], batch),
          });
          try {
            expectClose(got[y.name]!, want[y.name]!, 1e-5, 1e-5);
          } catch (e) {
            throw new Error(`mode ${mode}, half_pixel ${halfPixel}, sampling_ratio ${samplingRatio}: ${(e as Error).message}`);
          }
        }
      }
    }
  });
});
