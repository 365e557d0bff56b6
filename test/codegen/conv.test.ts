import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import type { Attrs } from '../../src/ir/attrs.js';
import type { DType, Shape } from '../../src/ir/types.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import { lowerNode } from '../../src/codegen/lower/index.js';
import { expectRaceFree } from '../helpers/kernel-lint.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

type Device = ReturnType<ReturnType<typeof useGpu>>;

/** A one-node conv graph over x, weight and (when given) bias inputs. */
function convGraph(op: string, shapes: Shape[], attrs: Attrs, dtype: DType): Graph {
  const g = new Graph(op);
  const ins = shapes.map((s, i) => g.addInput(['x', 'w', 'b'][i]!, { dtype, shape: s, device: 'webgpu' }));
  g.setOutputs([g.addNode(op, ins, attrs).output]);
  expectRoundTrip(g);
  return g;
}

function randomInputs(g: Graph, seed: number, dtype: DType): Record<string, TensorData> {
  const rng = new Random(seed);
  return Object.fromEntries(g.inputs.map((v) => {
    const t = randomData('f32', v.type.shape, rng);
    return [v.name, dtype === 'f16' ? tensorData('f16', t.shape, toF16Array(t.data as Float32Array)) : t];
  }));
}

const asF32 = (t: TensorData): TensorData => (t.dtype === 'f16' ? tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array)) : t);

/** Runs one conv node on the GPU and on the CPU reference with random inputs and compares. */
async function check(device: Device, op: string, shapes: Shape[], attrs: Attrs = {}, dtype: DType = 'f32') {
  const g = convGraph(op, shapes, attrs, dtype);
  const { gpu, cpu } = await runBoth(device, g, randomInputs(g, shapes.flat().reduce((a, b) => a * 31 + b, 11), dtype));
  const name = g.outputs[0]!.name;
  // Sums of up to a few hundred products of N(0,1) values: f32 accumulation-order error only.
  if (dtype === 'f16') expectClose(asF32(gpu[name]!), asF32(cpu[name]!), 2e-2, 1e-2);
  else expectClose(gpu[name]!, cpu[name]!, 1e-4, 1e-4);
}

// One device for the whole file (one device per test file at most: see README.md, "Quick start").
describe('convolutions on WebGPU agree with the CPU reference', () => {
  const gpu = useGpu();

  describe('conv2d', () => {
    it('1x1 convolution with bias, batch 2, odd spatial size', () =>
      check(gpu(), 'conv2d', [[2, 5, 13, 11], [6, 5, 1, 1], [6]]));
    it('3x3 with symmetric padding and bias', () =>
      check(gpu(), 'conv2d', [[1, 3, 13, 11], [8, 3, 3, 3], [8]], { padding: [1, 1, 1, 1] }));
    it('stride 2 with asymmetric padding', () =>
      check(gpu(), 'conv2d', [[2, 3, 13, 11], [5, 3, 3, 3]], { stride: [2, 2], padding: [0, 1, 1, 2] }));
    it('dilation 2', () =>
      check(gpu(), 'conv2d', [[1, 4, 13, 11], [7, 4, 3, 3]], { dilation: [2, 2], padding: [2, 2, 2, 2] }));
    it('different stride and dilation per axis, non-square kernel', () =>
      check(gpu(), 'conv2d', [[1, 3, 12, 13], [4, 3, 3, 2], [4]], { stride: [1, 2], dilation: [2, 1], padding: [1, 0, 2, 1] }));
    it('groups 2 with 5 output channels per group (blocks never straddle groups)', () =>
      check(gpu(), 'conv2d', [[2, 6, 9, 7], [10, 3, 3, 3], [10]], { groups: 2, padding: [1, 1, 1, 1] }));
    it('groups 3 with a single output channel per group', () =>
      check(gpu(), 'conv2d', [[1, 6, 7, 7], [3, 2, 3, 3]], { groups: 3 }));
    it('depthwise 3x3 with bias, batch 2, 7 channels', () =>
      check(gpu(), 'conv2d', [[2, 7, 13, 11], [7, 1, 3, 3], [7]], { groups: 7, padding: [1, 1, 1, 1] }));
    it('depthwise with channel multiplier 2, stride 2, 5x5', () =>
      check(gpu(), 'conv2d', [[1, 3, 9, 10], [6, 1, 5, 5]], { groups: 3, stride: [2, 2], padding: [2, 2, 2, 2] }));
    it('depthwise with dilation and asymmetric padding', () =>
      check(gpu(), 'conv2d', [[1, 5, 11, 9], [5, 1, 3, 3], [5]], { groups: 5, dilation: [2, 2], padding: [1, 2, 3, 0] }));
    it('few input channels (taps innermost): one channel, and an RGB stem with 7x7 stride 2 padding 3', { timeout: 180_000 }, async () => {
      await check(gpu(), 'conv2d', [[2, 1, 12, 12], [8, 1, 5, 5], [8]]);
      await check(gpu(), 'conv2d', [[1, 3, 17, 15], [6, 3, 7, 7], [6]], { stride: [2, 2], padding: [3, 3, 3, 2] });
    });
    it('outputs 1, 2 and 3 columns wide', { timeout: 180_000 }, async () => {
      await check(gpu(), 'conv2d', [[1, 3, 5, 3], [3, 3, 3, 3]]);
      await check(gpu(), 'conv2d', [[1, 2, 4, 4], [2, 2, 3, 3]]);
      await check(gpu(), 'conv2d', [[1, 2, 4, 5], [2, 2, 3, 3]]);
    });
    it('depthwise 5x5 stride (2, 1) and 3x3 stride 1 over rows 96 wide (PP-OCR), with bias', { timeout: 180_000 }, async () => {
      await check(gpu(), 'conv2d', [[1, 9, 6, 96], [9, 1, 5, 5], [9]], { groups: 9, stride: [2, 1], padding: [2, 2, 2, 2] });
      await check(gpu(), 'conv2d', [[2, 5, 5, 37], [5, 1, 3, 3], [5]], { groups: 5, padding: [1, 1, 1, 1] });
    });
    it('more output channels than one channel block (8), with a partial block', () =>
      check(gpu(), 'conv2d', [[1, 12, 3, 29], [19, 12, 1, 1], [19]]));
    it('a larger layer spanning many workgroups', () =>
      check(gpu(), 'conv2d', [[1, 16, 32, 33], [24, 16, 3, 3], [24]], { padding: [1, 1, 1, 1] }));
    it('f16 against the f16 reference', async () => {
      await check(gpu(), 'conv2d', [[1, 4, 9, 7], [6, 4, 3, 3], [6]], { padding: [1, 1, 1, 1] }, 'f16');
      await check(gpu(), 'conv2d', [[1, 4, 9, 7], [4, 1, 3, 3]], { groups: 4 }, 'f16');
    });

    it('convolutions of different sizes share one shader', () => {
      const g = new Graph('two_convs');
      const x = g.addInput('x', { dtype: 'f32', shape: [1, 3, 16, 16], device: 'webgpu' });
      const w1 = g.addInput('w1', { dtype: 'f32', shape: [8, 3, 3, 3], device: 'webgpu' });
      const w2 = g.addInput('w2', { dtype: 'f32', shape: [8, 8, 3, 3], device: 'webgpu' });
      const a = g.addNode('conv2d', [x, w1], { padding: [1, 1, 1, 1] }).output;
      g.setOutputs([g.addNode('conv2d', [a, w2], { dilation: [2, 2], padding: [2, 2, 2, 2] }).output]);
      // The flat direct kernel takes the window as uniforms; the row kernel compiles it in.
      const p = compile(g, { choose: () => 'direct' });
      expect(p.dispatches).toHaveLength(2);
      expect(p.kernels).toHaveLength(1);
    });

    it('row convolutions with the same window and blocking share one shader across sizes', () => {
      const g = new Graph('two_convs');
      const x = g.addInput('x', { dtype: 'f32', shape: [1, 3, 16, 40], device: 'webgpu' });
      const w1 = g.addInput('w1', { dtype: 'f32', shape: [16, 3, 3, 3], device: 'webgpu' });
      const w2 = g.addInput('w2', { dtype: 'f32', shape: [24, 16, 3, 3], device: 'webgpu' });
      const a = g.addNode('conv2d', [x, w1], { padding: [1, 1, 1, 1] }).output;
      g.setOutputs([g.addNode('conv2d', [a, w2], { padding: [1, 1, 1, 1] }).output]);
      const p = compile(g, { choose: () => 'rows' });
      expect(p.dispatches).toHaveLength(2);
      expect(p.kernels).toHaveLength(1);
    });
  });

  describe('conv_transpose2d', () => {
    it('stride 1', () => check(gpu(), 'conv_transpose2d', [[1, 3, 5, 4], [3, 4, 3, 3]]));
    it('stride 2, padding 1, output_padding 1, bias, batch 2', () =>
      check(gpu(), 'conv_transpose2d', [[2, 5, 7, 6], [5, 3, 3, 3], [3]], { stride: [2, 2], padding: [1, 1, 1, 1], output_padding: [1, 1] }));
    it('per-axis stride and dilation, asymmetric padding and output_padding', () =>
      check(gpu(), 'conv_transpose2d', [[1, 4, 5, 5], [4, 6, 3, 2]], {
        stride: [2, 3], dilation: [2, 1], padding: [0, 1, 2, 0], output_padding: [1, 2],
      }));
    it('groups 2 with 3 output channels per group, 4x4 kernel, stride 2', () =>
      check(gpu(), 'conv_transpose2d', [[1, 4, 6, 5], [4, 3, 4, 4], [6]], { groups: 2, stride: [2, 2], padding: [1, 1, 1, 1] }));
    it('depthwise (groups = channels)', () =>
      check(gpu(), 'conv_transpose2d', [[1, 5, 6, 6], [5, 1, 3, 3]], { groups: 5, stride: [2, 2] }));
    it('1x1 kernel, stride 2 (spreads pixels apart); stride wider than the output', async () => {
      await check(gpu(), 'conv_transpose2d', [[2, 3, 4, 3], [3, 2, 1, 1]], { stride: [2, 2] });
      await check(gpu(), 'conv_transpose2d', [[1, 2, 2, 1], [2, 3, 1, 1], [3]], { stride: [3, 3] });
    });
  });
});

describe('convolution kernels pass static checks', () => {
  /**
   * Runs each kernel of a one-node graph through wgsl_reflect's interpreter (one workgroup, so
   * the shapes are small) and its performance lints: no two invocations may write the same
   * output element, which would mean the register blocks overlap.
   */
  function lint(op: string, shapes: Shape[], attrs: Attrs = {}, variant?: string) {
    const g = new Graph(op);
    const ins = shapes.map((s, i) => g.addInput(`x${i}`, { dtype: 'f32', shape: s, device: 'webgpu' }));
    const node = g.addNode(op, ins, attrs);
    for (const k of lowerNode(node, variant ? { choose: () => variant } : {})) {
      expectRaceFree(node, k);
    }
  }

  it('direct conv with partial channel and column blocks', () => lint('conv2d', [[1, 6, 3, 6], [10, 3, 3, 3], [10]], { groups: 2, padding: [1, 1, 1, 1] }));
  it('depthwise conv with a partial column block', () => lint('conv2d', [[1, 4, 3, 6], [8, 1, 3, 3]], { groups: 4, padding: [1, 1, 1, 1] }));
  it('row conv with partial channel and column blocks, grouped and depthwise', () => {
    lint('conv2d', [[1, 6, 3, 11], [22, 3, 3, 3], [22]], { groups: 2, padding: [1, 1, 1, 1] }, 'rows');
    lint('conv2d', [[1, 4, 3, 13], [8, 1, 5, 5]], { groups: 4, stride: [2, 1], padding: [2, 2, 2, 2] }, 'rows');
  });
  it('conv_transpose2d with a partial channel block', () => lint('conv_transpose2d', [[1, 4, 2, 2], [4, 3, 3, 3]], { groups: 2, stride: [2, 2] }));
});
