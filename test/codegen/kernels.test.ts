import { describe, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import type { Attrs } from '../../src/ir/attrs.js';
import type { DType, Shape } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

/** A one-node graph over fresh inputs of the given shapes, run on both devices and compared. */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, op: string, shapes: Shape[], attrs: Attrs = {}, dtype: DType = 'f32', tol = { atol: 1e-6, rtol: 1e-5 }) {
  const g = new Graph(op);
  const ins = shapes.map((s, i) => g.addInput(`x${i}`, { dtype, shape: s, device: 'webgpu' }));
  g.setOutputs([g.addNode(op, ins, attrs).output]);
  expectRoundTrip(g);
  const rng = new Random(shapes.flat().reduce((a, b) => a * 31 + b, 7));
  const inputs = Object.fromEntries(shapes.map((s, i) => [`x${i}`, randomData(dtype, s, rng)]));
  const { gpu, cpu } = await runBoth(device, g, inputs);
  const name = g.outputs[0]!.name;
  expectClose(gpu[name]!, cpu[name]!, tol.atol, tol.rtol);
}

describe('WebGPU kernels agree with the CPU reference', () => {
  const gpu = useGpu();

  describe('elementwise with broadcasting', () => {
    for (const op of ['add', 'sub', 'mul', 'div']) {
      it(`${op}: same shape, odd sizes`, () => check(gpu(), op, [[3, 257], [3, 257]]));
      it(`${op}: broadcast row, column and scalar`, async () => {
        await check(gpu(), op, [[5, 7, 9], [9]]);
        await check(gpu(), op, [[5, 1, 9], [1, 7, 1]]);
        await check(gpu(), op, [[], [4, 3]]);
      });
    }
    it('add and mul on i32', async () => {
      await check(gpu(), 'add', [[33, 5], [5]], {}, 'i32');
      await check(gpu(), 'mul', [[1000], [1000]], {}, 'i32');
    });
    it('relu and neg', async () => {
      await check(gpu(), 'relu', [[1001]]);
      await check(gpu(), 'neg', [[2, 3, 5, 7]]);
    });
    it('a tensor larger than one dispatch row of workgroups (65535 x 256)', () => check(gpu(), 'relu', [[17_000_001]]));
  });

  describe('matmul', () => {
    const tol = { atol: 1e-4, rtol: 1e-4 };
    it('square, multiple of the tile', () => check(gpu(), 'matmul', [[64, 64], [64, 64]], {}, 'f32', tol));
    it('odd sizes not multiples of any tile', () => check(gpu(), 'matmul', [[33, 17], [17, 45]], {}, 'f32', tol));
    it('1 x K x 1', () => check(gpu(), 'matmul', [[1, 300], [300, 1]], {}, 'f32', tol));
    it('batched with broadcast batch dimensions', async () => {
      await check(gpu(), 'matmul', [[3, 5, 7], [3, 7, 6]], {}, 'f32', tol);
      await check(gpu(), 'matmul', [[2, 1, 5, 7], [3, 7, 2]], {}, 'f32', tol);
      await check(gpu(), 'matmul', [[9, 13], [4, 13, 5]], {}, 'f32', tol);
    });
    it('i32', () => check(gpu(), 'matmul', [[7, 9], [9, 3]], {}, 'i32'));
  });

  describe('reductions', () => {
    for (const op of ['sum', 'mean']) {
      it(`${op} over the last axis, first axis, middle axes, all axes, keepdims`, async () => {
        const tol = { atol: 1e-5, rtol: 1e-5 };
        await check(gpu(), op, [[7, 129]], { axes: [-1] }, 'f32', tol);
        await check(gpu(), op, [[7, 129]], { axes: [0] }, 'f32', tol);
        await check(gpu(), op, [[3, 4, 5, 6]], { axes: [1, 2], keepdims: true }, 'f32', tol);
        await check(gpu(), op, [[3, 4, 5]], { axes: [2, 0] }, 'f32', tol);
        await check(gpu(), op, [[11, 13]], {}, 'f32', tol);
      });
    }
  });

  describe('movement', () => {
    it('transpose 2-D, and a 4-D permutation', async () => {
      await check(gpu(), 'transpose', [[37, 19]]);
      await check(gpu(), 'transpose', [[2, 3, 4, 5]], { perm: [2, 0, 3, 1] });
    });
    it('reshape (aliases its input) followed by a kernel', async () => {
      const g = new Graph('reshape_relu');
      const x = g.addInput('x', { dtype: 'f32', shape: [6, 35], device: 'webgpu' });
      const r = g.addNode('reshape', [x], { shape: [-1, 7] }).output;
      g.setOutputs([g.addNode('relu', [r]).output, r]);
      const inputs = { x: randomData('f32', [6, 35], new Random(3)) };
      const { gpu: got, cpu } = await runBoth(gpu(), g, inputs);
      for (const v of g.outputs) expectClose(got[v.name]!, cpu[v.name]!);
    });
  });
});
