import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/ir/graph.js';
import type { Attrs } from '../../src/ir/attrs.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { toF16Array } from '../../src/ir/f16.js';
import { numel, type DType, type Shape } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { compile } from '../../src/compiler.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

function rand(dtype: DType, shape: Shape): TensorData {
  const rng = new Random(shape.reduce((a, b) => a * 31 + b, 7));
  if (dtype === 'f16') return tensorData('f16', shape, toF16Array(Array.from({ length: numel(shape) }, () => rng.normal())));
  if (dtype === 'bool') return tensorData('bool', shape, Array.from({ length: numel(shape) }, () => (rng.next() < 0.5 ? 1 : 0)));
  return randomData(dtype, shape, rng);
}

/** Whether a program's kernels store four outputs at a time (the vec4 resize) or one. */
function storesVec4(g: Graph, opts?: Parameters<typeof compile>[1]): boolean {
  return compile(g, opts).kernels.some((k) => /var<storage, read_write> out: array<vec4</.test(k.wgsl));
}

/**
 * A resize of `x`, on the device and the CPU reference. Nearest must match exactly (the
 * coordinate maps are integer, so no device may pick a different neighbour); linear within
 * f32 (or f16) rounding. With `path`, the kernel must be the one storing four outputs an
 * invocation (`vec4`) or the one storing one (`scalar`).
 */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, x: TensorData, attrs: Attrs, path?: 'vec4' | 'scalar') {
  const g = new Graph('resize');
  const input = g.addInput('x', { dtype: x.dtype, shape: x.shape, device: 'webgpu' });
  g.setOutputs([g.addNode('resize', [input], attrs).output]);
  expectRoundTrip(g);
  if (path) expect(storesVec4(g), `${path} kernel for ${JSON.stringify(attrs)}`).toBe(path === 'vec4');
  const { gpu, cpu } = await runBoth(device, g, { x });
  const name = g.outputs[0]!.name;
  const linear = attrs.mode === 'linear' || attrs.mode === 'cubic';
  // Cubic sums 16 f32 products with weights in f32 (the CPU in double): a few ulps of the result.
  const tol = !linear ? 0 : x.dtype === 'f16' ? 1e-3 : attrs.mode === 'cubic' ? 1e-5 : 1e-6;
  expectClose(gpu[name]!, cpu[name]!, tol, linear ? tol : 0);
}

const COORDINATE_MODES = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'half_pixel_symmetric', 'tf_half_pixel_for_nn'];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

describe('WebGPU resize agrees with the CPU reference', () => {
  const gpu = useGpu();

  it('nearest: every coordinate mode and rounding mode, up and down, odd sizes', async () => {
    const x = rand('f32', [2, 3, 7, 9]);
    for (const coordinate_transformation_mode of COORDINATE_MODES) {
      for (const nearest_mode of NEAREST_MODES) {
        await check(gpu(), x, { sizes: [13, 5], coordinate_transformation_mode, nearest_mode });
      }
    }
  });

  it('nearest by scales (PyTorch upsample and a fractional downsample)', async () => {
    const x = rand('f32', [1, 2, 5, 6]);
    await check(gpu(), x, { scales: [1, 1, 2, 2], coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    await check(gpu(), x, { scales: [0.6, 0.75] });
    await check(gpu(), x, { scales: [1.5, 3] });
    await check(gpu(), x, { scales: [0.75, 0.75], sizes: [4, 5] });
  });

  it('nearest moves any dtype: i32, bool, f16; a 1-D resize of [N, C, L]', async () => {
    await check(gpu(), rand('i32', [3, 4, 5]), { sizes: [11, 2] });
    await check(gpu(), rand('bool', [2, 5, 3]), { scales: [2, 3], coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    await check(gpu(), rand('f16', [1, 3, 4, 4]), { sizes: [9, 7] });
    await check(gpu(), rand('f32', [2, 3, 17]), { sizes: [40] });
  });

  it('linear: every coordinate mode, up and down, by scales and sizes', async () => {
    const x = rand('f32', [2, 3, 7, 9]);
    for (const coordinate_transformation_mode of COORDINATE_MODES) {
      await check(gpu(), x, { mode: 'linear', sizes: [13, 5], coordinate_transformation_mode });
      await check(gpu(), x, { mode: 'linear', scales: [2, 2], coordinate_transformation_mode });
      await check(gpu(), x, { mode: 'linear', scales: [0.6, 0.4], coordinate_transformation_mode });
    }
    await check(gpu(), rand('f32', [1, 1, 1, 6]), { mode: 'linear', sizes: [3, 1], coordinate_transformation_mode: 'pytorch_half_pixel' });
  });

  it('cubic: every coordinate mode, up and down, A and exclude_outside, f16', async () => {
    const x = rand('f32', [2, 3, 7, 9]);
    for (const coordinate_transformation_mode of COORDINATE_MODES) {
      await check(gpu(), x, { mode: 'cubic', sizes: [13, 5], coordinate_transformation_mode });
      await check(gpu(), x, { mode: 'cubic', scales: [0.6, 2.5], coordinate_transformation_mode, cubic_coeff_a: -0.5, exclude_outside: 1 });
    }
    await check(gpu(), rand('f16', [1, 2, 5, 7]), { mode: 'cubic', scales: [2, 2] });
  });

  it('tf_crop_and_resize: nearest, linear and cubic, regions inside and beyond the input, f16', async () => {
    const x = rand('f32', [2, 3, 7, 9]);
    const roi = [0, 0, 0.4, 0.2, 1, 1, 0.6, 1.3];
    for (const mode of ['nearest', 'linear', 'cubic']) {
      await check(gpu(), x, { mode, sizes: [5, 11], roi, coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: -2.5 });
    }
    await check(gpu(), x, { mode: 'linear', scales: [0.8, 1.5], roi: [0, 0, 0.9, 0.1, 1, 1, 0.2, 0.7], coordinate_transformation_mode: 'tf_crop_and_resize' });
    await check(gpu(), rand('f16', [1, 2, 5, 7]), { sizes: [4, 9], roi: [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.1], coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 7 });
  });

  it('antialiased linear and cubic: strong and mild shrinking, one axis enlarged, exclude_outside', async () => {
    const x = rand('f32', [2, 3, 23, 17]);
    for (const mode of ['linear', 'cubic']) {
      await check(gpu(), x, { mode, antialias: 1, scales: [0.3, 0.6] });
      await check(gpu(), x, { mode, antialias: 1, sizes: [5, 30], coordinate_transformation_mode: 'align_corners' });
      await check(gpu(), x, { mode, antialias: 1, sizes: [7, 4], exclude_outside: 1, coordinate_transformation_mode: 'pytorch_half_pixel' });
    }
  });

  it('linear in f16, and a larger odd-sized image', async () => {
    await check(gpu(), rand('f16', [1, 2, 5, 7]), { mode: 'linear', scales: [2, 2] });
    await check(gpu(), rand('f32', [1, 3, 61, 83]), { mode: 'linear', sizes: [127, 45], coordinate_transformation_mode: 'align_corners' });
  });

  it('vec4 nearest (four outputs of a row an invocation): every coordinate and rounding mode, up and down', async () => {
    const x = rand('f32', [2, 3, 7, 9]);
    for (const coordinate_transformation_mode of COORDINATE_MODES) {
      for (const nearest_mode of NEAREST_MODES) {
        await check(gpu(), x, { sizes: [13, 12], coordinate_transformation_mode, nearest_mode }, 'vec4');
        await check(gpu(), x, { sizes: [5, 4], coordinate_transformation_mode, nearest_mode }, 'vec4');
        await check(gpu(), x, { sizes: [6, 13], coordinate_transformation_mode, nearest_mode }, 'scalar');
      }
    }
  });

  it('vec4 nearest by integer and fractional scales (the 2x, 4x, 8x upsampling of detection necks)', async () => {
    for (const s of [2, 4, 8]) {
      await check(gpu(), rand('f32', [1, 5, 3, 6]), { scales: [1, 1, s, s], coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, 'vec4');
    }
    await check(gpu(), rand('f32', [1, 2, 5, 20]), { scales: [0.6, 0.2] }, 'vec4');
    await check(gpu(), rand('f32', [1, 2, 5, 8]), { scales: [1.5, 2.5] }, 'vec4');
    await check(gpu(), rand('f32', [1, 2, 5, 6]), { scales: [1.5, 3] }, 'scalar');
  });

  it('vec4 nearest moves any dtype: i32, bool, f16; a 1-D resize of [N, C, L]', async () => {
    await check(gpu(), rand('i32', [3, 4, 5]), { sizes: [11, 8] }, 'vec4');
    await check(gpu(), rand('bool', [2, 5, 3]), { scales: [2, 4], coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, 'vec4');
    await check(gpu(), rand('f16', [1, 3, 4, 4]), { sizes: [9, 8] }, 'vec4');
    await check(gpu(), rand('f16', [1, 3, 4, 4]), { sizes: [9, 6] }, 'scalar');
    await check(gpu(), rand('f32', [2, 3, 17]), { sizes: [44] }, 'vec4');
    // More planes than a grid dimension holds (65535 workgroups): the one-output kernel.
    await check(gpu(), rand('f32', [70000, 1, 1]), { sizes: [1, 4] }, 'scalar');
  });

  it('vec4 linear: every coordinate mode, up and down, f16; antialiased and cubic stay one output an invocation', async () => {
    const x = rand('f32', [2, 3, 7, 9]);
    for (const coordinate_transformation_mode of COORDINATE_MODES) {
      await check(gpu(), x, { mode: 'linear', sizes: [13, 12], coordinate_transformation_mode }, 'vec4');
      await check(gpu(), x, { mode: 'linear', sizes: [4, 4], coordinate_transformation_mode }, 'vec4');
      await check(gpu(), rand('f32', [1, 2, 5, 6]), { mode: 'linear', scales: [2, 2], coordinate_transformation_mode }, 'vec4');
    }
    await check(gpu(), rand('f16', [1, 2, 5, 7]), { mode: 'linear', sizes: [10, 16] }, 'vec4');
    await check(gpu(), rand('f32', [1, 1, 1, 6]), { mode: 'linear', sizes: [3, 4], coordinate_transformation_mode: 'pytorch_half_pixel' }, 'vec4');
    await check(gpu(), rand('f32', [2, 3, 23, 17]), { mode: 'linear', antialias: 1, sizes: [7, 8] }, 'scalar');
    await check(gpu(), x, { mode: 'cubic', sizes: [13, 12] }, 'scalar');
  });

  it('vec4 tf_crop_and_resize: rows and columns beyond the input take the extrapolation value, f16', async () => {
    const x = rand('f32', [2, 3, 7, 9]);
    const roi = [0, 0, 0.4, 0.2, 1, 1, 0.6, 1.3];
    for (const mode of ['nearest', 'linear']) {
      await check(gpu(), x, { mode, sizes: [5, 12], roi, coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: -2.5 }, 'vec4');
      await check(gpu(), x, { mode, sizes: [6, 8], roi: [0, 0, -0.3, 0.9, 1, 1, 1.2, -0.1], coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 3 }, 'vec4');
    }
    await check(gpu(), rand('f16', [1, 2, 5, 7]), { sizes: [4, 8], roi: [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.1], coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 7 }, 'vec4');
  });

  it('a chooser can ask for the one-output kernel where the vec4 one applies', () => {
    const g = new Graph('resize');
    const x = g.addInput('x', { dtype: 'f32', shape: [1, 2, 4, 4], device: 'webgpu' });
    g.setOutputs([g.addNode('resize', [x], { scales: [2, 2] }).output]);
    const asked: string[] = [];
    expect(storesVec4(g, { choose: (family, signature, variants) => { asked.push(`${family} ${signature} ${variants.join(',')}`); return 'scalar'; } })).toBe(false);
    expect(asked).toEqual(['resize nearest:f32:2x4x4->8x8 vec4,scalar']);
    expect(storesVec4(g)).toBe(true);
  });

  it('every nearest resize of one element size shares one shader', () => {
    const g = new Graph('two_resizes');
    const x = g.addInput('x', { dtype: 'f32', shape: [1, 1, 4, 4], device: 'webgpu' });
    const y = g.addInput('y', { dtype: 'i32', shape: [2, 3, 5], device: 'webgpu' });
    g.setOutputs([
      g.addNode('resize', [x], { sizes: [8, 3], coordinate_transformation_mode: 'align_corners' }).output,
      g.addNode('resize', [y], { scales: [2, 2], nearest_mode: 'floor' }).output,
    ]);
    expectRoundTrip(g);
    const p = compile(g);
    expect(p.dispatches).toHaveLength(2);
    expect(p.kernels).toHaveLength(1);
  });
});
