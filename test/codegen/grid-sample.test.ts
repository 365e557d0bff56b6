import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { Graph } from '../../src/ir/graph.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { numel } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, runBoth } from '../helpers/compare.js';

// The WebGPU grid_sample kernel against the CPU reference (itself checked by the ONNX suite's
// GridSample cases) for every mode, padding and alignment, on 1-, 2- and 3-D inputs, with grid
// coordinates reaching past the borders (where padding decides) and landing on exact halves
// (where nearest rounds half to even).

const MODES = ['nearest', 'linear', 'cubic'] as const;
const PADDINGS = ['zeros', 'border', 'reflection'] as const;

describe('grid_sample on WebGPU', () => {
  const gpu = useGpu();

  it('F.gridSample takes PyTorch\'s names, samples the identity grid back to the input, and differentiates on WebGPU', async () => {
    const F = kiln.nn.functional;
    // align_corners: the identity affine grid hits pixel centres exactly.
    const xs = Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7);
    const x = kiln.tensor(xs).reshape(1, 2, 3, 4).requiresGrad_();
    const grid = kiln.tensor(Array.from({ length: 3 * 4 }, (_, k) => [-1 + (2 * (k % 4)) / 3, -1 + Math.floor(k / 4)]).flat()).reshape(1, 3, 4, 2);
    for (const mode of ['bilinear', 'nearest', 'bicubic'] as const) {
      const y = F.gridSample(await x.to(gpu()), await grid.to(gpu()), { mode, alignCorners: true });
      expect(((await y.to('cpu')).tolist() as number[][][][]).flat(3).map((v) => Math.round(v * 7 * 1e4) / 1e4)).toEqual(xs.map((v) => v * 7));
    }
    // Sampling each pixel once, the gradient of the sum with respect to x is all ones.
    await F.gridSample(x, grid, { alignCorners: true }).sum().backward();
    expect(([x.grad!.tolist()].flat(4) as number[]).map((v) => Math.round(v * 1e5) / 1e5)).toEqual(new Array<number>(24).fill(1));
    expect(() => F.gridSample(kiln.zeros([1, 1, 2, 2, 2]), kiln.zeros([1, 1, 1, 1, 3]), { mode: 'bicubic' })).toThrow('bicubic takes 4-D input');
  });

  for (const [x, out] of [[[2, 3, 7], [5]], [[2, 3, 5, 6], [4, 3]], [[1, 2, 3, 4, 5], [2, 3, 2]]] as const) {
    const r = x.length - 2;
    it(`${r}-D: X [${x.join(',')}], every mode, padding and alignment, equal to the CPU reference`, async () => {
      const rng = new Random(r);
      const gridShape = [x[0]!, ...out, r];
      // Coordinates over [-1.6, 1.6], a quarter of them on multiples of 1/4 (exact halves after denormalising).
      const gridValues = Array.from({ length: numel(gridShape) }, (_, i) => (i % 4 === 0 ? Math.round(rng.uniform(-6, 6)) / 4 : rng.uniform(-1.6, 1.6)));
      const xValues = Array.from({ length: numel(x) }, () => rng.normal());
      for (const mode of MODES) {
        // Cubic is 2-D only in ONNX; the kernel and reference take it at any rank, kept to 2-D here.
        if (mode === 'cubic' && r !== 2) continue;
        for (const padding of PADDINGS) {
          for (const align of [false, true]) {
            const g = new Graph('gs');
            const xi = g.addInput('x', { dtype: 'f32', shape: [...x], device: 'webgpu' });
            const gi = g.addInput('grid', { dtype: 'f32', shape: gridShape, device: 'webgpu' });
            const y = g.addNode('grid_sample', [xi, gi], { mode, padding_mode: padding, align_corners: align }).output;
            g.setOutputs([y]);
            const { gpu: got, cpu: want } = await runBoth(gpu(), g, { x: tensorData('f32', [...x], xValues), grid: tensorData('f32', gridShape, gridValues) });
            try {
              expectClose(got[y.name]!, want[y.name]!, 1e-5, 1e-5);
            } catch (e) {
              throw new Error(`mode ${mode}, padding ${padding}, align_corners ${align}: ${(e as Error).message}`);
            }
          }
        }
      }
    });
  }
});
