import { describe, expect, it } from 'vitest';
import { compile, optimize } from '../../src/compiler.js';
import { heuristicChooser } from '../../src/codegen/lower/heuristics.js';
import { MATMUL_VARIANTS } from '../../src/codegen/lower/matmul.js';
import { Graph } from '../../src/ir/graph.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import { parseGraph } from '../../src/ir/parser.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { randomInputs } from '../../src/io/random-inputs.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { Random } from '../../src/frontend/torch/random.js';
import type { CompileOptions } from '../../src/compiler.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, expectProgramAgrees, randomData } from '../helpers/compare.js';

// The 16 x 8 register-blocked matmuls (block16x8, and shuffle16x8, which loads A once a subgroup)
// against the CPU reference: row and column tails (M, N not multiples of 16 and 8, N a multiple of
// 4 but not of 8), K not a multiple of 4 nor of the subgroup size, and below it, batches,
// transposed and strided operands, Gemm, symbolic rows, f16 and int8 weights.

const STATIC = [
  `graph g(%a: f32[50,33] @webgpu, %b: f32[33,44] @webgpu) -> (f32[50,44] @webgpu) {
  %0 = matmul(%a, %b) : f32[50,44] @webgpu
  return %0
}`,
  `graph g(%a: f32[16,9] @webgpu, %b: f32[9,8] @webgpu) -> (f32[16,8] @webgpu) {
  %0 = matmul(%a, %b) : f32[16,8] @webgpu
  return %0
}`,
  `graph g(%a: f32[3,1,19,20] @webgpu, %b: f32[2,20,13] @webgpu) -> (f32[3,2,19,13] @webgpu) {
  %0 = matmul(%a, %b) : f32[3,2,19,13] @webgpu
  return %0
}`,
  `graph g(%a: f32[2,21,24] @webgpu, %b: f32[2,20,24] @webgpu, %c: f32[20] @webgpu) -> (f32[2,21,20] @webgpu) {
  %t = transpose(%b) {perm = [0, 2, 1]} : f32[2,24,20] @webgpu
  %0 = matmul(%a, %t) : f32[2,21,20] @webgpu
  %1 = add(%0, %c) : f32[2,21,20] @webgpu
  %2 = relu(%1) : f32[2,21,20] @webgpu
  return %2
}`,
  `graph g(%a: f32[17,5] @webgpu, %b: f32[5,12] @webgpu) -> (f32[17,12] @webgpu) {
  %0 = matmul(%a, %b) : f32[17,12] @webgpu
  return %0
}`,
  `graph g(%a: f32[15,37] @webgpu, %b: f32[29,15] @webgpu, %c: f32[29] @webgpu) -> (f32[37,29] @webgpu) {
  %0 = gemm(%a, %b, %c) {alpha = 0.5, beta = 2.0, trans_a = true, trans_b = true} : f32[37,29] @webgpu
  return %0
}`,
];

describe.each(['block16x8', 'shuffle16x8'])('%s matmul', (variant) => {
  const gpu = useGpu();
  const block: CompileOptions['choose'] = (family) => (family === 'matmul' || family === 'gemm' ? variant : undefined);
  // Every product kernel is the variant's: 16-row blocks, A shared by subgroupShuffle or not.
  const isVariant = (wgsl: string) => wgsl.includes('wid.y * 16u') && wgsl.includes('subgroupShuffle') === (variant === 'shuffle16x8');

  async function expectAgrees(g: Graph, opts: CompileOptions, seed: number): Promise<void> {
    const program = compile(g, opts);
    expect(program.kernels.some((k) => isVariant(k.wgsl))).toBe(true);
    await expectProgramAgrees(gpu(), program, [{ graph: g, inputs: randomInputs(g, seed) }]);
  }

  it('agrees with the CPU reference on tails, batches, views and Gemm', { timeout: 120_000 }, async () => {
    for (const [i, text] of STATIC.entries()) await expectAgrees(parseGraph(`${text}\n`), { choose: block }, i + 1);
  });

  it('one program serves rows bound at run time', { timeout: 120_000 }, async () => {
    const g = parseGraph(`graph g(%a: f32[M,24] @webgpu, %b: f32[24,12] @webgpu) -> (f32[M,12] @webgpu) sizes(M: [2, 70]) {
  %0 = matmul(%a, %b) : f32[M,12] @webgpu
  return %0
}
`);
    const program = compile(g, { choose: block });
    expect(program.kernels.some((k) => isVariant(k.wgsl))).toBe(true);
    await expectProgramAgrees(gpu(), program, [70, 2, 17, 16].map((M, i) => {
      const fixed = instantiateGraph(g, { M });
      return { graph: fixed, inputs: randomInputs(fixed, i + 1) };
    }));
  });

  it('computes f16 operands, accumulating in f32', { timeout: 120_000 }, async () => {
    const g = parseGraph(`graph g(%a: f32[35,40] @webgpu, %b: f32[40,20] @webgpu) -> (f32[35,20] @webgpu) {
  %0 = matmul(%a, %b) : f32[35,20] @webgpu
  return %0
}
`);
    const program = compile(g, { choose: block, precision: 'fp16', ioPrecision: 'f16' });
    expect(program.kernels.some((k) => isVariant(k.wgsl) && k.wgsl.includes('enable f16;'))).toBe(true);
    const inputs = randomInputs(g, 3);
    const s = await Session.create(gpu(), program);
    try {
      const f16in = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, toF16(t)]));
      const got = (await s.run(f16in))[g.outputs[0]!.name]!;
      const want = runOnCpu(g, inputs)[g.outputs[0]!.name]!;
      expectClose(tensorData('f32', got.shape, fromF16Array(got.data as Uint16Array)), want, 5e-2, 1e-2);
    } finally {
      s.destroy();
    }
  });

  it('dequantizes int8 weights as it loads them (four columns a word, and one at a time)', { timeout: 120_000 }, async () => {
    for (const [n, transposed] of [[24, false], [10, false], [12, true]] as const) {
      const rng = new Random(n);
      const g = new Graph('int8_block');
      const x = g.addInput('x', { dtype: 'f32', shape: [2, 19, 13], device: 'webgpu' });
      let w = g.addNode('const', [], { value: randomData('f32', transposed ? [n, 13] : [13, n], rng) }).output;
      if (transposed) w = g.addNode('transpose', [w], { perm: [1, 0] }).output;
      g.setOutputs([g.addNode('matmul', [x, w], {}, { names: ['y'] }).output]);
      const program = compile(g, { weights: 'int8', int8MinElements: 0, choose: block });
      expect(program.kernels.some((k) => isVariant(k.wgsl) && /load4?_B\(/.test(k.wgsl))).toBe(true);
      const inputs = { x: randomData('f32', [2, 19, 13], rng) };
      const s = await Session.create(gpu(), program);
      try {
        const want = runOnCpu(optimize(g, { pipeline: 'quantize-weights', weights: 'int8', int8MinElements: 0 }).graph, inputs);
        expectClose((await s.run(inputs))['y']!, want['y']!, 1e-4, 1e-4);
      } finally {
        s.destroy();
      }
    }
  });
});

describe('the software heuristic for matmul and Gemm', () => {
  const software = heuristicChooser('software');
  const gpu = heuristicChooser('gpu');
  it('takes 16 x 8 blocks for products of 16 rows or more and 512^3 multiply-adds, 4 x 4 below, the one-row kernel for one row', () => {
    expect(software('matmul', 'f32:1x1024x1024x1024', MATMUL_VARIANTS)).toBe('block16x8');
    expect(software('gemm', 'f32:2x512x256x512', MATMUL_VARIANTS)).toBe('block16x8');
    // Smaller products keep the 4 x 4 blocks, whose shaders compile five times faster.
    expect(software('gemm', 'f32:1x16x8x8', MATMUL_VARIANTS)).toBe('vec4b');
    expect(software('matmul', 'f32:1x512x512x256', MATMUL_VARIANTS)).toBe('vec4b');
    expect(software('matmul', 'f32:4x15x64x64', MATMUL_VARIANTS)).toBe('vec4b');
    expect(software('gemm', 'f32:1x1x64x64', MATMUL_VARIANTS)).toBe('rows1');
  });
  it('loads A once a subgroup where the adapter offers subgroups', () => {
    const withSubgroups = heuristicChooser('software', ['shader-f16', 'subgroups']);
    expect(withSubgroups('matmul', 'f32:1x1024x1024x1024', MATMUL_VARIANTS)).toBe('shuffle16x8');
    expect(withSubgroups('gemm', 'f32:2x512x256x512', MATMUL_VARIANTS)).toBe('shuffle16x8');
    // From 2^24 multiply-adds (an eighth of block16x8's threshold), as it saves more per run.
    expect(withSubgroups('matmul', 'f32:1x128x768x768', MATMUL_VARIANTS)).toBe('shuffle16x8');
    expect(withSubgroups('matmul', 'f32:1x40x120x6625', MATMUL_VARIANTS)).toBe('shuffle16x8');
    expect(withSubgroups('matmul', 'f32:1x128x256x256', MATMUL_VARIANTS)).toBe('vec4b');
    expect(withSubgroups('gemm', 'f32:1x1x64x64', MATMUL_VARIANTS)).toBe('rows1');
    expect(heuristicChooser('gpu', ['subgroups'])('matmul', 'f32:1x1024x1024x1024', MATMUL_VARIANTS)).toBe('tiled');
  });
  it('leaves symbolic problems to the lowering, and GPUs their earlier choices', () => {
    expect(software('matmul', 'f32:1xMx64x64', MATMUL_VARIANTS)).toBeUndefined();
    expect(gpu('matmul', 'f32:1xMx64x64', MATMUL_VARIANTS)).toBeUndefined();
    expect(gpu('matmul', 'f32:1x1024x1024x1024', MATMUL_VARIANTS)).toBe('tiled');
    expect(gpu('gemm', 'f32:1x1024x1024x1024', MATMUL_VARIANTS)).toBe('vec4b');
    expect(gpu('gemm', 'f32:1x1x64x64', MATMUL_VARIANTS)).toBe('rows1');
  });
});

/** f32 data rounded to f16 (the dtype the fp16 program's inputs take). */
function toF16(t: TensorData): TensorData {
  return tensorData('f16', t.shape, toF16Array(t.data as Float32Array));
}
