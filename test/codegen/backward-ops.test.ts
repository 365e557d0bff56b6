import { describe, expect, it } from 'vitest';
import { fixedDispatch } from '../../src/codegen/kernels/kernel.js';
import { Graph } from '../../src/ir/graph.js';
import type { Attrs } from '../../src/ir/attrs.js';
import { getOp } from '../../src/ir/ops/index.js';
import { numel, type DType, type Shape } from '../../src/ir/types.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import { lowerNode } from '../../src/codegen/lower/index.js';
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

type Device = ReturnType<ReturnType<typeof useGpu>>;

/** Shape of the forward op's result, which is the backward op's output-gradient operand. */
function forwardShape(op: string, shapes: Shape[], attrs: Attrs): Shape {
  const def = getOp(op);
  return def.infer(shapes.map((s) => ({ dtype: 'f32', shape: s, device: 'webgpu' })), def.withDefaults(attrs))[0]!.shape;
}

const asF32 = (t: TensorData): TensorData => (t.dtype === 'f16' ? tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array)) : t);

/** Runs one backward node on the GPU and on the CPU reference with random inputs and compares. */
async function check(device: Device, op: string, shapes: Shape[], attrs: Attrs, dtype: DType = 'f32', tol = 1e-4) {
  const g = new Graph(op);
  const ins = shapes.map((s, i) => g.addInput(['x', 'dy'][i]!, { dtype, shape: s, device: 'webgpu' }));
  g.setOutputs([g.addNode(op, ins, attrs).output]);
  expectRoundTrip(g);
  const rng = new Random(shapes.flat().reduce((a, b) => a * 31 + b, 7));
  const inputs = Object.fromEntries(g.inputs.map((v) => {
    const t = randomData('f32', v.type.shape, rng);
    return [v.name, dtype === 'f16' ? tensorData('f16', t.shape, toF16Array(t.data as Float32Array)) : t];
  }));
  const { gpu, cpu } = await runBoth(device, g, inputs);
  const name = g.outputs[0]!.name;
  if (dtype === 'f16') expectClose(asF32(gpu[name]!), asF32(cpu[name]!), 5e-2, 2e-2);
  else expectClose(gpu[name]!, cpu[name]!, tol, tol);
}

/** conv2d_backward_weight for the conv2d of x with a weight of `w` shape. */
function checkConvWeight(device: Device, x: Shape, w: Shape, attrs: Attrs = {}, dtype: DType = 'f32') {
  const dy = forwardShape('conv2d', [x, w], attrs);
  // Sums of a few thousand products of N(0,1) values: accumulation-order error grows with them.
  return check(device, 'conv2d_backward_weight', [x, dy], { ...attrs, kernel_size: [w[2]!, w[3]!] }, dtype, 2e-3);
}

function checkMaxPool(device: Device, x: Shape, attrs: Attrs, dtype: DType = 'f32') {
  return check(device, 'max_pool2d_backward', [x, forwardShape('max_pool2d', [x], attrs)], attrs, dtype);
}

describe('backward ops on WebGPU agree with the CPU reference', () => {
  const gpu = useGpu();

  describe('conv2d_backward_weight', () => {
    it('3x3, batch 2, odd spatial size, channels not a multiple of the blocking', () => checkConvWeight(gpu(), [2, 3, 13, 11], [5, 3, 3, 3], { padding: [1, 1, 1, 1] }));
    it('5x5 valid (a LeNet layer), one input channel', () => checkConvWeight(gpu(), [3, 1, 12, 12], [6, 1, 5, 5]));
    it('stride 2 with asymmetric padding, non-square kernel', () => checkConvWeight(gpu(), [2, 3, 13, 11], [7, 3, 3, 2], { stride: [2, 2], padding: [0, 1, 1, 2] }));
    it('dilation and per-axis stride', () => checkConvWeight(gpu(), [1, 4, 13, 11], [3, 4, 3, 3], { stride: [1, 2], dilation: [2, 1], padding: [2, 1, 2, 1] }));
    it('groups and depthwise', async () => {
      await checkConvWeight(gpu(), [2, 6, 9, 7], [9, 2, 3, 3], { groups: 3, padding: [1, 1, 1, 1] });
      await checkConvWeight(gpu(), [2, 5, 9, 7], [5, 1, 3, 3], { groups: 5, padding: [1, 1, 1, 1] });
    });
    it('1x1 kernel and a size-1 everything', async () => {
      await checkConvWeight(gpu(), [2, 5, 3, 3], [6, 5, 1, 1]);
      await checkConvWeight(gpu(), [1, 1, 1, 1], [1, 1, 1, 1]);
    });
    it('f16', async (ctx) => {
      if (!gpu().features.has('shader-f16')) ctx.skip('no shader-f16');
      await checkConvWeight(gpu(), [2, 3, 9, 7], [4, 3, 3, 3], { padding: [1, 1, 1, 1] }, 'f16');
    });
  });

  describe('max_pool2d_backward', () => {
    it('2x2 with the default stride, odd size (last row and column dropped)', () => checkMaxPool(gpu(), [2, 3, 13, 11], { kernel_size: [2, 2] }));
    it('overlapping 3x3 windows, stride 2, padding, ceil_mode', async () => {
      await checkMaxPool(gpu(), [2, 3, 13, 11], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] });
      await checkMaxPool(gpu(), [1, 5, 12, 10], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], ceil_mode: true });
    });
    it('dilation, asymmetric padding, non-square windows, stride 1', async () => {
      await checkMaxPool(gpu(), [2, 3, 13, 11], { kernel_size: [3, 3], stride: [1, 1], dilation: [2, 2], padding: [2, 1, 0, 2] });
      await checkMaxPool(gpu(), [1, 2, 9, 11], { kernel_size: [2, 3], stride: [1, 2], padding: [0, 1, 1, 0] });
    });
    it('ties go to the first maximum, as on the CPU', async () => {
      const g = new Graph('ties');
      const x = g.addInput('x', { dtype: 'f32', shape: [1, 2, 4, 6], device: 'webgpu' });
      const dy = g.addInput('dy', { dtype: 'f32', shape: [1, 2, 3, 5], device: 'webgpu' });
      g.setOutputs([g.addNode('max_pool2d_backward', [x, dy], { kernel_size: [2, 2], stride: [1, 1] }).output]);
      const rng = new Random(5);
      const xs = tensorData('f32', [1, 2, 4, 6], Array.from({ length: 48 }, () => Math.floor(rng.uniform(0, 3))));
      const { gpu: a, cpu: b } = await runBoth(gpu(), g, { x: xs, dy: randomData('f32', [1, 2, 3, 5], rng) });
      expectClose(a[g.outputs[0]!.name]!, b[g.outputs[0]!.name]!, 1e-5, 1e-5);
    });
    it('f16', async (ctx) => {
      if (!gpu().features.has('shader-f16')) ctx.skip('no shader-f16');
      await checkMaxPool(gpu(), [1, 3, 9, 7], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }, 'f16');
    });
  });

  it('layers of different sizes share one shader per op and blocking; kernels have no races', () => {
    const g = new Graph('shared');
    const x1 = g.addInput('x1', { dtype: 'f32', shape: [2, 4, 12, 12], device: 'webgpu' });
    const d1 = g.addInput('d1', { dtype: 'f32', shape: [2, 8, 8, 8], device: 'webgpu' });
    const x2 = g.addInput('x2', { dtype: 'f32', shape: [3, 5, 9, 9], device: 'webgpu' });
    const d2 = g.addInput('d2', { dtype: 'f32', shape: [3, 6, 5, 5], device: 'webgpu' });
    const a = g.addNode('conv2d_backward_weight', [x1, d1], { kernel_size: [5, 5] }).output;
    const b = g.addNode('conv2d_backward_weight', [x2, d2], { kernel_size: [5, 5] }).output;
    const p = g.addNode('max_pool2d_backward', [x1, g.addInput('d3', { dtype: 'f32', shape: [2, 4, 6, 6], device: 'webgpu' })], { kernel_size: [2, 2] }).output;
    g.setOutputs([a, b, p]);
    const program = compile(g);
    expect(program.kernels).toHaveLength(2);
    for (const n of g.nodes) {
      for (const k of lowerNode(n)) {
        const buffers: Record<number, Float32Array | Uint32Array> = {};
        [...n.inputs, ...n.outputs].forEach((v, i) => { buffers[i] = new Float32Array(numel(v.type.shape)); });
        buffers[n.inputs.length + n.outputs.length] = new Uint32Array(fixedDispatch(k).uniforms);
        const { races, errors } = detectRaces(k.wgsl, 'main', [...fixedDispatch(k).workgroups], { 0: buffers });
        expect(errors).toEqual([]);
        expect(races.map((r) => r.message)).toEqual([]);
      }
    }
    // The race detector interprets every invocation of the three kernels: 35-40 s on an idle
    // 2-core machine, twice that when the machine is busy.
  }, 180_000);
});
