// align-weights: a matmul's constant [K, N] weight whose N is not a multiple of 4 is stored padded
// to one and read through a slice, so its kernels load it four columns at a time. Checked on the
// device against the CPU reference of the unpadded graph, for each kernel variant's row counts.
import { describe, expect, it } from 'vitest';
import { compile, compileWithReport } from '../../src/compiler.js';
import { Random } from '../../src/frontend/torch/random.js';
import { Graph } from '../../src/ir/graph.js';
import type { Shape } from '../../src/ir/types.js';
import { MIN_ALIGNED_ELEMENTS } from '../../src/passes/align-weights.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { expectClose, randomData } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';

/** x [M, K] times a constant [K, N], read by a second matmul too when `shared`. */
function product(m: number, k: number, n: number, shared = false): Graph {
  const rng = new Random(k * 31 + n);
  const g = new Graph('aligned');
  const x = g.addInput('x', { dtype: 'f32', shape: [m, k], device: 'webgpu' });
  const w = g.addNode('const', [], { value: randomData('f32', [k, n], rng) }).output;
  const y = g.addNode('matmul', [x, w], {}, { names: ['y'] }).output;
  if (!shared) g.setOutputs([y]);
  else g.setOutputs([y, g.addNode('matmul', [g.addInput('x2', { dtype: 'f32', shape: [m, k], device: 'webgpu' }), w], {}, { names: ['y2'] }).output]);
  return g;
}

const storedWeights = (g: Graph): Shape[] => g.nodes.filter((n) => n.op === 'const').map((n) => n.output.type.shape);

describe('align-weights', () => {
  const gpu = useGpu();

  it('pads a [K, N] weight to a multiple of 4 columns and loads it by vec4s, equal to the CPU on every row count', async () => {
    for (const [k, n] of [[128, 1027], [22000, 3]] as const) {
      expect(k * n).toBeGreaterThanOrEqual(MIN_ALIGNED_ELEMENTS);
      // One row (rows1), a few (the 4 x 4 blocks), and 128 x 128 x 1027 (2^24 multiply-adds: the
      // subgroup-shuffled 16 x 8 blocks where the adapter offers subgroups).
      for (const m of k === 128 ? [1, 5, 128] : [1, 5]) {
        for (const precision of ['fp32', 'fp16'] as const) {
          const g = product(m, k, n);
          const { program, graph } = compileWithReport(g, { precision });
          expect(storedWeights(graph)).toEqual([[k, Math.ceil(n / 4) * 4]]);
          expect(program.kernels.some((kn) => kn.wgsl.includes('var<storage, read> B: array<vec4<')), `M=${m}: B by vec4s`).toBe(true);
          const inputs = { x: randomData('f32', [m, k], new Random(m)) };
          const session = await Session.create(gpu(), program);
          try {
            const tol = precision === 'fp16' ? 2e-2 : 1e-4;
            expectClose((await session.run(inputs))['y']!, runOnCpu(g, inputs)['y']!, tol, tol);
          } finally {
            session.destroy();
          }
        }
      }
    }
  });

  it('leaves small weights, aligned ones and weights read twice as they are', () => {
    expect(storedWeights(compileWithReport(product(2, 16, 7)).graph)).toEqual([[16, 7]]);
    expect(storedWeights(compileWithReport(product(2, 256, 512)).graph)).toEqual([[256, 512]]);
    expect(storedWeights(compileWithReport(product(2, 128, 1027, true)).graph)).toEqual([[128, 1027]]);
    expect(compile(product(2, 128, 1027, true)).kernels.some((kn) => kn.wgsl.includes('B: array<vec4<'))).toBe(false);
  });
});
