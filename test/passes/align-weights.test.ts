// align-weights: a one-row matmul's constant [K, N] weight is stored [N, K] and read through a
// transpose, so its kernel takes dot products along K by vec4s; another whose N is not a multiple
// of 4 is stored padded to one and read through a slice, so its kernels load it four columns at a
// time. Checked on the device against the CPU reference of the graph as written, for each kernel
// variant's row counts.
import { describe, expect, it } from 'vitest';
import { compile, compileWithReport } from '../../src/compiler.js';
import { Random } from '../../src/frontend/torch/random.js';
import { Graph } from '../../src/ir/graph.js';
import type { Shape } from '../../src/ir/types.js';
import { quantizeInt8 } from '../../src/ir/quantize-int8.js';
import { SMALL_WEIGHT_ELEMENTS } from '../../src/passes/align-weights.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { expectClose, randomData } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';

/** x [...batch, M, K] times a constant [K, N] (gemm's trans_b: [N, K]), read by a second matmul too when `shared`. */
function product(m: number, k: number, n: number, shared = false, batch: number[] = [], op: 'matmul' | 'gemm' = 'matmul'): Graph {
  const rng = new Random(k * 31 + n);
  const g = new Graph('aligned');
  const x = g.addInput('x', { dtype: 'f32', shape: [...batch, m, k], device: 'webgpu' });
  const w = g.addNode('const', [], { value: randomData('f32', op === 'gemm' ? [n, k] : [k, n], rng) }).output;
  const y = g.addNode(op, [x, w], op === 'gemm' ? { trans_b: true } : {}, { names: ['y'] }).output;
  if (!shared) g.setOutputs([y]);
  else g.setOutputs([y, g.addNode('matmul', [g.addInput('x2', { dtype: 'f32', shape: [m, k], device: 'webgpu' }), w], {}, { names: ['y2'] }).output]);
  return g;
}

const storedWeights = (g: Graph): Shape[] => g.nodes.filter((n) => n.op === 'const').map((n) => n.output.type.shape);

describe('align-weights', () => {
  const gpu = useGpu();

  /** Compiles `g` at both precisions; checks the weights stored and the kernels (`check`), and the device's output against the CPU. */
  async function expectStored(g: Graph, stored: Shape, check: (wgsl: string[]) => void): Promise<void> {
    const x = g.inputs[0]!;
    for (const precision of ['fp32', 'fp16'] as const) {
      const { program, graph } = compileWithReport(g, { precision });
      expect(storedWeights(graph), `${precision} x ${x.type.shape}`).toEqual([stored]);
      check(program.kernels.map((kn) => kn.wgsl));
      const inputs = { x: randomData('f32', x.type.shape, new Random(x.type.shape[0]!)) };
      const session = await Session.create(gpu(), program);
      try {
        const tol = precision === 'fp16' ? 2e-2 : 1e-4;
        expectClose((await session.run(inputs))['y']!, runOnCpu(g, inputs)['y']!, tol, tol);
      } finally {
        session.destroy();
      }
    }
  }

  it('pads a [K, N] weight to a multiple of 4 columns and loads it by vec4s, equal to the CPU on every row count', async () => {
    const vec4B = (wgsl: string[]) => expect(wgsl.some((w) => w.includes('var<storage, read> B: array<vec4<'))).toBe(true);
    // A few rows (the 4 x 4 blocks), 128 x 128 x 1027 (2^24 multiply-adds: the subgroup-shuffled
    // 16 x 8 blocks where the adapter offers subgroups), and one row whose K is not a multiple of
    // 4 (rows1; not stored [N, K], as that kernel needs K in vec4s).
    for (const [m, k, n] of [[5, 128, 1027], [128, 128, 1027], [5, 22000, 3], [1, 130, 1027]] as const) {
      expect(k * n).toBeGreaterThan(SMALL_WEIGHT_ELEMENTS);
      await expectStored(product(m, k, n), [k, Math.ceil(n / 4) * 4], vec4B);
    }
  });

  it('stores a one-row product\'s [K, N] weight as [N, K] and takes dot products along K by vec4s, equal to the CPU', async () => {
    const dots = (wgsl: string[]) => {
      const kernel = wgsl.find((w) => w.includes('dot(s0'));
      expect(kernel).toMatch(/var<storage, read> A: array<vec4</);
      expect(kernel).toMatch(/var<storage, read> B: array<vec4</);
    };
    // N a multiple of 4 and not (no padding then: N is the stored rows), a batch of rows (one row
    // each, B broadcast), and gemm's trans_b weight, already [N, K].
    await expectStored(product(1, 768, 512), [512, 768], dots);
    await expectStored(product(1, 256, 1027), [1027, 256], dots);
    await expectStored(product(1, 256, 516, false, [3]), [516, 256], dots);
    await expectStored(product(1, 256, 1028, false, [], 'gemm'), [1028, 256], dots);
  });

  it('stores a one-row product\'s QDQ int8 weight (a scale a column) as [N, K], a scale a row, equal to the CPU', async () => {
    const [k, n] = [256, 260];
    const rng = new Random(3);
    const g = new Graph('qdq');
    const x = g.addInput('x', { dtype: 'f32', shape: [1, k], device: 'webgpu' });
    const { packed, scales } = quantizeInt8(randomData('f32', [k, n], rng), 1);
    const [p, s] = [packed, scales].map((value) => g.addNode('const', [], { value }).output);
    const w = g.addNode('dequantize_int8', [p!, s!], { shape: [k, n], axis: 1 }).output;
    g.setOutputs([g.addNode('matmul', [x, w], {}, { names: ['y'] }).output]);
    const log: string[] = [];
    const program = compile(g, { log: (m) => log.push(m) });
    expect(log).toContain(`align-weights: %${w.name} [${k},${n}] stored as [${n},${k}] for %y`);
    expect(program.kernels.map((kn) => kn.wgsl).find((kn) => kn.includes('dot(s0'))).toMatch(/dot\(s0, vec4<f32>\(1\.0\)\) \* /);
    const inputs = { x: randomData('f32', [1, k], rng) };
    const session = await Session.create(gpu(), program);
    try {
      expectClose((await session.run(inputs))['y']!, runOnCpu(g, inputs)['y']!, 1e-4, 1e-4);
    } finally {
      session.destroy();
    }
  });

  it('leaves small weights, aligned ones and weights read twice as they are', () => {
    expect(storedWeights(compileWithReport(product(2, 16, 7)).graph)).toEqual([[16, 7]]);
    expect(storedWeights(compileWithReport(product(1, 64, 512)).graph)).toEqual([[64, 512]]);
    expect(storedWeights(compileWithReport(product(2, 256, 512)).graph)).toEqual([[256, 512]]);
    expect(storedWeights(compileWithReport(product(2, 128, 1027, true)).graph)).toEqual([[128, 1027]]);
    expect(compile(product(2, 128, 1027, true)).kernels.some((kn) => kn.wgsl.includes('B: array<vec4<'))).toBe(false);
  });
});
