import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../src/ir/attrs.js';
import { compile, optimize } from '../../src/compiler.js';
import { MATMUL_VARIANTS } from '../../src/codegen/lower/matmul.js';
import { Random } from '../../src/frontend/torch/random.js';
import { Graph, type Value } from '../../src/ir/graph.js';
import type { TensorData } from '../../src/ir/tensor-data.js';
import type { Shape } from '../../src/ir/types.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { expectClose, randomData } from '../helpers/compare.js';
import { useGpu } from '../helpers/gpu.js';

// Kernels reading int8 weights (--weights int8) against the CPU reference of the same quantized
// graph (which dequantizes the weights exactly as the kernels' loads do), and that graph against
// the float one (the quantization error itself, small for these random weights).

interface Case {
  readonly name: string;
  /** The input shapes; the weight is a constant. */
  readonly x: Shape;
  readonly w: Shape;
  readonly op: string;
  readonly attrs?: Attrs;
  /** Optional third operand (bias), a constant. */
  readonly bias?: Shape;
  /** The weight is read through transpose (a traced nn.Linear: x @ W^T). */
  readonly transposed?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'matmul, K = 13 (not a multiple of 4), N = 10', op: 'matmul', x: [7, 13], w: [13, 10] },
  { name: 'matmul, N multiple of 4 (four columns a load)', op: 'matmul', x: [5, 11], w: [11, 16] },
  { name: 'matmul of one row (the one-row kernel), K = 9', op: 'matmul', x: [1, 9], w: [9, 12] },
  { name: 'gemm of one row with trans_b (the one-row kernel)', op: 'gemm', x: [1, 10], w: [6, 10], bias: [6], attrs: { trans_b: true } },
  { name: 'batched matmul on a shared weight', op: 'matmul', x: [3, 6, 9], w: [9, 8] },
  { name: 'matmul on transpose(W [N, K]), as traced from nn.Linear', op: 'matmul', x: [4, 19], w: [6, 19], transposed: true },
  { name: 'gemm, K = 7', op: 'gemm', x: [5, 7], w: [7, 9], bias: [9] },
  { name: 'gemm with trans_b, K = 15', op: 'gemm', x: [3, 15], w: [10, 15], bias: [10], attrs: { trans_b: true, alpha: 0.5, beta: 2 } },
  { name: 'conv2d 3x3, 5 input channels', op: 'conv2d', x: [2, 5, 9, 7], w: [6, 5, 3, 3], bias: [6], attrs: { padding: [1, 1, 1, 1] } },
  { name: 'conv2d 1x1, stride 2', op: 'conv2d', x: [1, 7, 8, 8], w: [9, 7, 1, 1], attrs: { stride: [2, 2] } },
  { name: 'conv2d 1x1, 11 output channels (a partial channel block)', op: 'conv2d', x: [1, 4, 3, 13], w: [11, 4, 1, 1], bias: [11] },
  { name: 'grouped conv2d', op: 'conv2d', x: [1, 6, 6, 6], w: [4, 3, 3, 3], bias: [4], attrs: { groups: 2 } },
  { name: 'depthwise conv2d', op: 'conv2d', x: [1, 5, 7, 7], w: [5, 1, 3, 3], bias: [5], attrs: { groups: 5, padding: [1, 1, 1, 1] } },
];

function graphOf(c: Case, rng: Random): Graph {
  const g = new Graph('int8_case');
  const x = g.addInput('x', { dtype: 'f32', shape: c.x, device: 'webgpu' });
  const constant = (shape: Shape): Value => g.addNode('const', [], { value: randomData('f32', shape, rng) }).output;
  let w = constant(c.w);
  if (c.transposed) w = g.addNode('transpose', [w], { perm: [1, 0] }).output;
  const ins = [x, w, ...(c.bias ? [constant(c.bias)] : [])];
  g.setOutputs([g.addNode(c.op, ins, c.attrs ?? {}, { names: ['y'] }).output]);
  return g;
}

/** Largest |a - b| over the largest |b|. */
function relativeError(a: TensorData, b: TensorData): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.data.length; i++) {
    diff = Math.max(diff, Math.abs(a.data[i]! - b.data[i]!));
    scale = Math.max(scale, Math.abs(b.data[i]!));
  }
  return diff / scale;
}

describe('int8 weights', () => {
  const gpu = useGpu();

  // int4 (--weights int4) stores matmul and gemm weights as 4-bit blocks of 32 rows (conv2d's as int8).
  for (const weights of ['int8', 'int4'] as const) {
    for (const c of CASES) {
      const blocks = weights === 'int4' && c.op !== 'conv2d';
      it(`${c.name}${weights === 'int4' ? ` (int4${blocks ? '' : ': int8'})` : ''}`, async () => {
        const rng = new Random(c.x.concat(c.w).reduce((a, b) => a * 31 + b, 7));
        const g = graphOf(c, rng);
        const inputs = { x: randomData('f32', c.x, rng) };
        const program = compile(g, { weights, int8MinElements: 0 });
        // The weight is stored packed (a u32 per four or eight values) and the kernel unpacks it as it loads.
        expect(program.kernels.some((k) => k.wgsl.includes('extractBits('))).toBe(true);
        expect(program.kernels.every((k) => !k.name.startsWith('dequantize'))).toBe(true);
        const session = await Session.create(gpu(), program);
        let got: Record<string, TensorData>;
        try {
          got = await session.run(inputs);
        } finally {
          session.destroy();
        }
        const quantized = optimize(g, { pipeline: 'quantize-weights', weights, int8MinElements: 0 }).graph;
        expect(quantized.nodes.some((n) => n.op === (blocks ? 'dequantize_blocks' : 'dequantize_int8'))).toBe(true);
        const want = runOnCpu(quantized, inputs);
        expectClose(got['y']!, want['y']!, 1e-4, 1e-4);
        // The quantization error against the float weights: within a few steps of 1/127 (of 1/15 in 4 bits).
        expect(relativeError(want['y']!, runOnCpu(g, inputs)['y']!)).toBeLessThan(blocks ? 0.1 : 0.02);
      });
    }
  }

  // A matmul's int8 scales are per column, so they hold down every row: the kernels that load B
  // four columns at a time (all but scalar and tiled) load them once, before the K loop.
  it('an int8 matmul weight through every kernel variant, f32 and f16 scales', async () => {
    const c: Case = { name: 'int8 variants', op: 'matmul', x: [5, 40], w: [40, 24] };
    for (const precision of ['fp32', 'fp16'] as const) {
      for (const variant of MATMUL_VARIANTS) {
        const rng = new Random(21);
        const g = graphOf(c, rng);
        const inputs = { x: randomData('f32', c.x, rng) };
        const program = compile(g, { weights: 'int8', int8MinElements: 0, precision, choose: (family) => (family === 'matmul' ? variant : undefined) });
        const hoisted = !['scalar', 'tiled'].includes(variant);
        expect(program.kernels.some((k) => k.wgsl.includes('let B_s0 = ')), `${variant}: scales before the K loop`).toBe(hoisted);
        const session = await Session.create(gpu(), program);
        try {
          // The reference is the graph the program was compiled from (under fp16: f16 scales, an f16 input and output).
          const want = runOnCpu(optimize(g, { weights: 'int8', int8MinElements: 0, precision }).graph, inputs);
          const tol = precision === 'fp16' ? 1e-2 : 1e-4;
          expectClose((await session.run(inputs))['y']!, want['y']!, tol, tol);
        } finally {
          session.destroy();
        }
      }
    }
  });

  // A one-row product's weight is stored [N, K] (a channel a row) and read through a transpose:
  // the one-row kernel sums each column along K four codes a word, scaled once after the sum.
  it('a one-row matmul reads its int8 weight stored [N, K] by words along K, f32 and f16 scales', async () => {
    // A [K, N] weight (transposed as stored) and a traced nn.Linear's [N, K] one (stored as it is).
    const cases: Case[] = [
      { name: 'one row', op: 'matmul', x: [1, 1, 512], w: [512, 132] },
      { name: 'one row, nn.Linear', op: 'matmul', x: [1, 512], w: [132, 512], transposed: true },
    ];
    for (const c of cases) {
      for (const precision of ['fp32', 'fp16'] as const) {
        const rng = new Random(5);
        const g = graphOf(c, rng);
        const inputs = { x: randomData('f32', c.x, rng) };
        const options = { weights: 'int8', precision } as const;
        const quantized = optimize(g, { pipeline: 'quantize-weights,align-weights', weights: 'int8' }).graph;
        expect(quantized.nodes.find((n) => n.op === 'dequantize_int8')?.attrs, c.name).toMatchObject({ shape: [132, 512], axis: 0 });
        expect(quantized.nodes.find((n) => n.op === 'const' && n.output.name.endsWith('.int8'))?.output.type.shape).toEqual([132 * 512 / 4]);
        const program = compile(g, options);
        expect(program.kernels.map((k) => k.wgsl).find((w) => w.includes('dot(s0'))).toMatch(/dot\(s0, vec4<f32>\(1\.0\)\) \* /);
        const session = await Session.create(gpu(), program);
        try {
          // The reference is the graph the program was compiled from (under fp16: f16 scales, an f16 input and output).
          const tol = precision === 'fp16' ? 1e-2 : 1e-4;
          expectClose((await session.run(inputs))['y']!, runOnCpu(optimize(g, options).graph, inputs)['y']!, tol, tol);
        } finally {
          session.destroy();
        }
      }
    }
  });

  it('the implicit-GEMM convolution loads int8 weights through the same hook', async () => {
    for (const c of CASES.filter((k) => k.op === 'conv2d' && !k.attrs?.groups)) {
      const rng = new Random(11);
      const g = graphOf(c, rng);
      const inputs = { x: randomData('f32', c.x, rng) };
      const program = compile(g, { weights: 'int8', int8MinElements: 0, choose: (family) => (family === 'conv' ? 'gemm' : undefined) });
      expect(program.kernels.some((k) => k.wgsl.includes('var<workgroup> tB') && k.wgsl.includes('load_wt('))).toBe(true);
      const session = await Session.create(gpu(), program);
      try {
        const want = runOnCpu(optimize(g, { pipeline: 'quantize-weights', weights: 'int8', int8MinElements: 0 }).graph, inputs);
        expectClose((await session.run(inputs))['y']!, want['y']!, 1e-4, 1e-4);
      } finally {
        session.destroy();
      }
    }
  });

  it('a squeeze-and-excitation gate (one kernel) loads both its int8 conv weights', async () => {
    const rng = new Random(5);
    const g = new Graph('int8_se');
    const x = g.addInput('x', { dtype: 'f32', shape: [2, 12, 5, 6], device: 'webgpu' });
    const constant = (shape: Shape): Value => g.addNode('const', [], { value: randomData('f32', shape, rng) }).output;
    const pooled = g.addNode('global_avg_pool', [x]).output;
    const h = g.addNode('relu', [g.addNode('conv2d', [pooled, constant([3, 12, 1, 1]), constant([3])]).output]).output;
    const gate = g.addNode('hardsigmoid', [g.addNode('conv2d', [h, constant([12, 3, 1, 1]), constant([12])]).output], { alpha: 0.2 }).output;
    g.setOutputs([g.addNode('mul', [x, gate], {}, { names: ['y'] }).output]);
    const program = compile(g, { weights: 'int8', int8MinElements: 0 });
    const se = program.kernels.find((k) => k.name === 'squeeze_excite')!;
    expect(se.wgsl).toContain('load_w1(');
    expect(se.wgsl).toContain('load_w2(');
    const inputs = { x: randomData('f32', [2, 12, 5, 6], rng) };
    const session = await Session.create(gpu(), program);
    try {
      const got = await session.run(inputs);
      expectClose(got['y']!, runOnCpu(optimize(g, { weights: 'int8', int8MinElements: 0 }).graph, inputs)['y']!, 1e-5, 1e-4);
    } finally {
      session.destroy();
    }
  });

  it('a dequantize_int8 whose reader cannot load int8 runs alone, as the CPU computes it', async () => {
    // The float weight is a graph output too, so no kernel can read it in place.
    const rng = new Random(11);
    const g = new Graph('int8_alone');
    const x = g.addInput('x', { dtype: 'f32', shape: [3, 10], device: 'webgpu' });
    const w = g.addNode('const', [], { value: randomData('f32', [10, 6], rng) }).output;
    const quantizedGraph = optimize((() => {
      g.setOutputs([g.addNode('matmul', [x, w], {}, { names: ['y'] }).output]);
      return g;
    })(), { pipeline: 'quantize-weights', weights: 'int8', int8MinElements: 0 }).graph;
    const dq = quantizedGraph.nodes.find((n) => n.op === 'dequantize_int8')!;
    quantizedGraph.setOutputs([...quantizedGraph.outputs, dq.output]);
    const inputs = { x: randomData('f32', [3, 10], rng) };
    const program = compile(quantizedGraph);
    expect(program.kernels.some((k) => k.name === 'dequantize_int8')).toBe(true);
    const session = await Session.create(gpu(), program);
    try {
      const got = await session.run(inputs);
      const want = runOnCpu(quantizedGraph, inputs);
      for (const name of Object.keys(want)) expectClose(got[name]!, want[name]!, 1e-5, 1e-5);
    } finally {
      session.destroy();
    }
  });
});
