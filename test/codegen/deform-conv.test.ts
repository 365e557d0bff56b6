import { describe, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { numel } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, runBoth } from '../helpers/compare.js';

// The WebGPU deform_conv2d kernel against the CPU reference (itself checked by the ONNX suite's
// DeformConv cases): groups and offset groups, stride, dilation and padding, offsets that move
// taps past the borders (reading zero), and a mask.

describe('deform_conv2d on WebGPU', () => {
  const gpu = useGpu();

  for (const [groups, offsetGroups, stride, dilation, padding] of [[1, 1, [1, 1], [1, 1], [0, 0, 0, 0]], [2, 2, [2, 1], [1, 2], [1, 2, 1, 2]], [2, 4, [1, 2], [2, 1], [2, 0, 1, 1]]] as const) {
    it(`groups ${groups}, offset groups ${offsetGroups}, stride [${stride}], dilation [${dilation}], padding [${padding}]: equal to the CPU reference`, async () => {
      const rng = new Random(groups * 10 + offsetGroups);
      const [n, c, h, w, m, kh, kw] = [2, 4, 7, 8, 6, 3, 2];
      const oh = Math.floor((h + padding[0] + padding[2] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
      const ow = Math.floor((w + padding[1] + padding[3] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
      const shapes: Record<string, number[]> = {
        x: [n, c, h, w], w: [m, c / groups, kh, kw], offset: [n, offsetGroups * kh * kw * 2, oh, ow], bias: [m], mask: [n, offsetGroups * kh * kw, oh, ow],
      };
      const g = new Graph('dc');
      const ins = Object.entries(shapes).map(([name, shape]) => g.addInput(name, { dtype: 'f32', shape, device: 'webgpu' }));
      const y = g.addNode('deform_conv2d', ins, { groups, offset_groups: offsetGroups, stride: [...stride], dilation: [...dilation], padding: [...padding] }).output;
      g.setOutputs([y]);
      // Offsets up to +-4 pixels move taps well past the borders.
      const gen = (name: string) => Array.from({ length: numel(shapes[name]!) }, () => (name === 'offset' ? rng.uniform(-4, 4) : name === 'mask' ? rng.uniform(0, 1) : rng.normal()));
      const { gpu: got, cpu: want } = await runBoth(gpu(), g, Object.fromEntries(Object.keys(shapes).map((k) => [k, tensorData('f32', shapes[k]!, gen(k))])));
      expectClose(got[y.name]!, want[y.name]!, 1e-5, 1e-5);
    });
  }
});
