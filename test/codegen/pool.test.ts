import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import type { Attrs } from '../../src/ir/attrs.js';
import type { DType, Shape } from '../../src/ir/types.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

type Device = ReturnType<ReturnType<typeof useGpu>>;

function poolGraph(op: string, shape: Shape, attrs: Attrs, dtype: DType): Graph {
  const g = new Graph(op);
  const x = g.addInput('x', { dtype, shape, device: 'webgpu' });
  g.setOutputs([g.addNode(op, [x], attrs).output]);
  expectRoundTrip(g);
  return g;
}

const asF32 = (t: TensorData): TensorData => (t.dtype === 'f16' ? tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array)) : t);

/** Runs one pooling node on the GPU and on the CPU reference with random inputs and compares. */
async function check(device: Device, op: string, shape: Shape, attrs: Attrs = {}, dtype: DType = 'f32') {
  const g = poolGraph(op, shape, attrs, dtype);
  const t = randomData('f32', shape, new Random(shape.reduce((a, b) => a * 31 + b, 5)));
  const x = dtype === 'f16' ? tensorData('f16', shape, toF16Array(t.data as Float32Array)) : t;
  const { gpu, cpu } = await runBoth(device, g, { x });
  const name = g.outputs[0]!.name;
  if (dtype === 'f16') expectClose(asF32(gpu[name]!), asF32(cpu[name]!), 2e-3, 2e-3);
  else expectClose(gpu[name]!, cpu[name]!, 1e-5, 1e-5);
}

// One device for the whole file (one device per test file at most: see README.md, "Quick start").
describe('pooling on WebGPU agrees with the CPU reference', () => {
  const gpu = useGpu();

  describe('max_pool2d', () => {
    it('2x2, stride defaulting to the kernel, odd size (last row and column dropped)', () =>
      check(gpu(), 'max_pool2d', [2, 3, 13, 11], { kernel_size: [2, 2] }));
    it('3x3 stride 2 with padding (padding never wins) and ceil_mode', async () => {
      await check(gpu(), 'max_pool2d', [2, 3, 13, 11], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] });
      await check(gpu(), 'max_pool2d', [1, 5, 13, 11], { kernel_size: [3, 3], stride: [2, 2], ceil_mode: true });
      await check(gpu(), 'max_pool2d', [1, 5, 12, 10], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], ceil_mode: true });
    });
    it('asymmetric padding, non-square kernel and stride, dilation 2', async () => {
      await check(gpu(), 'max_pool2d', [1, 2, 9, 11], { kernel_size: [2, 3], stride: [1, 2], padding: [0, 1, 1, 0] });
      await check(gpu(), 'max_pool2d', [2, 3, 13, 11], { kernel_size: [3, 3], stride: [1, 1], dilation: [2, 2], padding: [2, 1, 0, 2] });
    });
    it('f16', () => check(gpu(), 'max_pool2d', [1, 3, 9, 7], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }, 'f16'));
    it('rows a multiple of 4 long, four outputs an invocation: padding, dilation, windows overhanging the end, f16', async () => {
      const quad = (shape: Shape, attrs: Attrs, dtype: DType = 'f32') => {
        expect(compile(poolGraph('max_pool2d', shape, attrs, dtype)).kernels[0]!.wgsl).toMatch(/var<storage, read> x: array<vec4<f(32|16)>>/);
        return check(gpu(), 'max_pool2d', shape, attrs, dtype);
      };
      await quad([2, 3, 6, 16], { kernel_size: [2, 2] });
      await quad([1, 5, 12, 16], { kernel_size: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1] });
      await quad([2, 3, 9, 16], { kernel_size: [3, 3], stride: [1, 1], dilation: [2, 2], padding: [2, 2, 2, 2] });
      await quad([1, 2, 7, 16], { kernel_size: [3, 3], stride: [2, 2], ceil_mode: true });
      await quad([1, 3, 8, 16], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }, 'f16');
    });
    it('i32 and u32 compare as integers (values past 2^24 that f32 would merge)', async () => {
      for (const dtype of ['i32', 'u32'] as const) {
        const g = poolGraph('max_pool2d', [1, 2, 5, 5], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }, dtype);
        const base = dtype === 'i32' ? -(2 ** 31) + 5 : 2 ** 31;
        const x = tensorData(dtype, [1, 2, 5, 5], Array.from({ length: 50 }, (_, i) => base + ((i * 7) % 50)));
        const { gpu: got, cpu } = await runBoth(gpu(), g, { x });
        const name = g.outputs[0]!.name;
        expect(Array.from(got[name]!.data as ArrayLike<number>)).toEqual(Array.from(cpu[name]!.data as ArrayLike<number>));
        expect(new Set(Array.from(cpu[name]!.data as ArrayLike<number>)).size).toBeGreaterThan(4);
      }
    });
  });

  describe('avg_pool2d', () => {
    it('2x2 with the default stride', () => check(gpu(), 'avg_pool2d', [2, 3, 13, 11], { kernel_size: [2, 2] }));
    for (const count_include_pad of [false, true]) {
      it(`3x3 stride 2 padding 1, count_include_pad=${count_include_pad}`, () =>
        check(gpu(), 'avg_pool2d', [2, 3, 13, 11], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], count_include_pad }));
      it(`ceil_mode overhanging the padding, asymmetric padding, count_include_pad=${count_include_pad}`, async () => {
        await check(gpu(), 'avg_pool2d', [1, 4, 12, 10], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], ceil_mode: true, count_include_pad });
        await check(gpu(), 'avg_pool2d', [1, 2, 11, 9], { kernel_size: [2, 3], stride: [2, 2], padding: [0, 2, 1, 0], ceil_mode: true, count_include_pad });
      });
    }
    it('f16', () => check(gpu(), 'avg_pool2d', [1, 3, 9, 7], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] }, 'f16'));
  });

  describe('global and adaptive average pooling', () => {
    it('global_avg_pool of NCHW, of size-1 planes and of a 1-D signal', async () => {
      await check(gpu(), 'global_avg_pool', [2, 5, 13, 11]);
      await check(gpu(), 'global_avg_pool', [3, 2, 1, 1]);
      await check(gpu(), 'global_avg_pool', [1, 3, 7]);
    });
    it('adaptive_avg_pool2d to sizes that do not divide the input', async () => {
      await check(gpu(), 'adaptive_avg_pool2d', [2, 3, 13, 11], { output_size: [5, 3] });
      await check(gpu(), 'adaptive_avg_pool2d', [1, 2, 13, 11], { output_size: [4, 4] });
    });
    it('adaptive_avg_pool2d to 1x1, to the input size, and past it (overlapping bins)', async () => {
      await check(gpu(), 'adaptive_avg_pool2d', [2, 3, 13, 11], { output_size: [1, 1] });
      await check(gpu(), 'adaptive_avg_pool2d', [1, 3, 13, 11], { output_size: [13, 11] });
      await check(gpu(), 'adaptive_avg_pool2d', [1, 2, 5, 4], { output_size: [7, 9] });
    });
    it('f16', () => check(gpu(), 'adaptive_avg_pool2d', [1, 3, 9, 7], { output_size: [4, 3] }, 'f16'));
  });

  it('pools of different sizes share one shader per mode (rows no multiple of 4 long)', () => {
    const g = new Graph('pools');
    const x = g.addInput('x', { dtype: 'f32', shape: [1, 3, 18, 18], device: 'webgpu' });
    const a = g.addNode('max_pool2d', [x], { kernel_size: [2, 2] }).output;
    const b = g.addNode('max_pool2d', [a], { kernel_size: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1] }).output;
    const c = g.addNode('avg_pool2d', [b], { kernel_size: [2, 2] }).output;
    g.setOutputs([g.addNode('avg_pool2d', [c], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], count_include_pad: true }).output]);
    const p = compile(g);
    expect(p.dispatches).toHaveLength(4);
    expect(p.kernels).toHaveLength(2);
  });
});

describe('sizes past 32 bits', () => {
  it('a stride past 2^32 on a small tensor is refused at compile time, naming the node', () => {
    const g = poolGraph('max_pool2d', [1, 1, 4, 4], { kernel_size: [1, 1], stride: [2 ** 40, 1] }, 'f32');
    expect(() => compile(g)).toThrow(/node %\d+ \(max_pool2d\): uniform 'sh' would be 1099511627776, which does not fit the 32 bits/);
  });
});
