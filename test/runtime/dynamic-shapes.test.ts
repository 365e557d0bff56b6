import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import type { Graph } from '../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { numel } from '../../src/ir/types.js';
import { compile, compileSegmented } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { resolveProgram } from '../../src/runtime/sizes.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { saveArtifact } from '../../src/artifact-writer/folder.js';
import { parseManifest } from '../../src/runtime/manifest.js';
import { InferenceSession } from '../../src/runtime/inference-session.js';
import { SegmentedSession } from '../../src/runtime/segmented.js';
import { tempDir } from './artifact-fixture.js';
import { expectClose } from '../helpers/compare.js';

/** Random inputs of the graph instantiated at `sizes`. */
function inputsAt(g: Graph, seed: number): Record<string, TensorData> {
  const rng = new Random(seed);
  return Object.fromEntries(g.inputs.map((v) => [v.name, tensorData('f32', v.type.shape, Array.from({ length: numel(v.type.shape) }, () => rng.normal()))]));
}

/**
 * Compiles `text` once, then at each sizes setting: the program's words equal those of the
 * static graph compiled at those sizes wherever both chose the same kernel, and one
 * session, created once, gives the CPU reference's outputs; nothing is created after load.
 */
async function checkAcrossSizes(gpu: ReturnType<ReturnType<typeof useGpu>>, text: string, settings: readonly Record<string, number>[]) {
  const g = parseGraph(text);
  const program = compile(g);
  expect(program.sizes?.length).toBeGreaterThan(0);
  const session = await Session.create(gpu, program);
  const created = { ...session.stats };
  try {
    for (const [i, env] of settings.entries()) {
      const fixed = instantiateGraph(g, env);
      const want = resolveProgram(program, new Map(Object.entries(env)));
      const stat = compile(fixed);
      // Where both pick the same kernel, it gets the same words: nothing of the largest sizes was
      // baked in. (A static compile may pick another variant for a size, a blocking that suits a
      // narrow image; and at a size of 1 it treats that extent as broadcast, which is not compared.)
      expect(want.dispatches.length).toBe(stat.dispatches.length);
      const noneIsOne = Object.values(env).every((n) => n > 1);
      want.dispatches.forEach((d, k) => {
        const s = stat.dispatches[k]!;
        if (noneIsOne && program.kernels[d.kernel]!.wgsl === stat.kernels[s.kernel]!.wgsl) expect([d.uniforms, d.workgroups]).toEqual([s.uniforms, s.workgroups]);
      });
      const inputs = inputsAt(fixed, i + 1);
      const got = await session.run(inputs);
      const ref = runOnCpu(fixed, inputs);
      for (const o of fixed.outputs) {
        expect(got[o.name]!.shape).toEqual(o.type.shape);
        expectClose(got[o.name]!, ref[o.name]!, 1e-5, 1e-4);
      }
    }
    const after = session.stats;
    expect([after.pipelinesCreated, after.shaderModulesCreated, after.bindGroupsCreated, after.buffersCreated])
      .toEqual([created.pipelinesCreated, created.shaderModulesCreated, created.bindGroupsCreated, created.buffersCreated]);
  } finally {
    session.destroy();
  }
}

describe('programs compiled for a range of shapes', () => {
  const gpu = useGpu();

  it('run elementwise chains at every size from one session', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,4] @webgpu, %y: f32[N,4] @webgpu) -> (f32[N,4] @webgpu) sizes(N: [1, 600]) {
  %b = const() {value = [0.5, -1, 2, 0.25]} : f32[4] @webgpu
  %s = add(%x, %b) : f32[N,4] @webgpu
  %m = mul(%s, %y) : f32[N,4] @webgpu
  %r = relu(%m) : f32[N,4] @webgpu
  return %r
}
`, [{ N: 1 }, { N: 600 }, { N: 77 }]);
  });
});

/** Deterministic weights for IR text: `count` values in [-0.5, 0.5). */
const weights = (count: number) => `[${Array.from({ length: count }, (_, i) => (((i * 37) % 23) / 23 - 0.5).toFixed(4)).join(', ')}]`;

describe('kernels that take symbolic sizes', () => {
  const gpu = useGpu();

  it('convolutions, pools and a squeeze-and-excitation gate over a varying batch and width', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,4,6,W] @webgpu) -> (f32[N,8,3,"floor((W+1)/2)"] @webgpu, f32[N,8] @webgpu) sizes(N: [1, 4], W: [3, 40]) {
  %w1 = const() {value = ${weights(8 * 4 * 9)}} : f32[8,4,3,3] @webgpu
  %b1 = const() {value = ${weights(8)}} : f32[8] @webgpu
  %c1 = conv2d(%x, %w1, %b1) {padding = [1, 1, 1, 1], stride = [2, 2]} : f32[N,8,3,"floor((W+1)/2)"] @webgpu
  %h = hardswish(%c1) : f32[N,8,3,"floor((W+1)/2)"] @webgpu
  %wd = const() {value = ${weights(8 * 9)}} : f32[8,1,3,3] @webgpu
  %d = conv2d(%h, %wd) {padding = [1, 1, 1, 1], groups = 8} : f32[N,8,3,"floor((W+1)/2)"] @webgpu
  %p = global_avg_pool(%d) : f32[N,8,1,1] @webgpu
  %ws = const() {value = ${weights(2 * 8)}} : f32[2,8,1,1] @webgpu
  %s1 = conv2d(%p, %ws) : f32[N,2,1,1] @webgpu
  %r = relu(%s1) : f32[N,2,1,1] @webgpu
  %ws2 = const() {value = ${weights(8 * 2)}} : f32[8,2,1,1] @webgpu
  %s2 = conv2d(%r, %ws2) : f32[N,8,1,1] @webgpu
  %g = hardsigmoid(%s2) : f32[N,8,1,1] @webgpu
  %y = mul(%d, %g) : f32[N,8,3,"floor((W+1)/2)"] @webgpu
  %m = max_pool2d(%y) {kernel_size = [3, 3], stride = [1, 1], padding = [1, 1, 1, 1]} : f32[N,8,3,"floor((W+1)/2)"] @webgpu
  %a = avg_pool2d(%y) {kernel_size = [1, 2], stride = [1, 1]} : f32[N,8,3,"floor((W-1)/2)"] @webgpu
  %q = global_avg_pool(%m) : f32[N,8,1,1] @webgpu
  %f = flatten(%q) : f32[N,8] @webgpu
  %e = mean(%a) {axes = [2]} : f32[N,8,"floor((W-1)/2)"] @webgpu
  return %m, %f
}
`, [{ N: 2, W: 40 }, { N: 1, W: 3 }, { N: 4, W: 17 }, { N: 3, W: 8 }]);
  });

  it('attention over a varying batch and sequence length: matmuls through views, softmax, layer_norm', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[B,T,8] @webgpu) -> (f32[B,T,8] @webgpu) sizes(B: [1, 3], T: [1, 50]) {
  %wq = const() {value = ${weights(64)}} : f32[8,8] @webgpu
  %wk = const() {value = ${weights(64).replace('[', '[0.1, ').replace(/, [^,]*\]$/, ']')}} : f32[8,8] @webgpu
  %g = const() {value = ${weights(8)}} : f32[8] @webgpu
  %n = layer_norm(%x, %g) {axis = -1} : f32[B,T,8] @webgpu
  %q = matmul(%n, %wq) : f32[B,T,8] @webgpu
  %k = matmul(%n, %wk) : f32[B,T,8] @webgpu
  %qh = reshape(%q) {shape = [0, 0, 2, 4], copy = [0, 1]} : f32[B,T,2,4] @webgpu
  %kh = reshape(%k) {shape = [0, 0, 2, 4], copy = [0, 1]} : f32[B,T,2,4] @webgpu
  %qt = transpose(%qh) {perm = [0, 2, 1, 3]} : f32[B,2,T,4] @webgpu
  %kt = transpose(%kh) {perm = [0, 2, 3, 1]} : f32[B,2,4,T] @webgpu
  %s = matmul(%qt, %kt) : f32[B,2,T,T] @webgpu
  %p = softmax(%s) {axis = -1} : f32[B,2,T,T] @webgpu
  %o = matmul(%p, %qt) : f32[B,2,T,4] @webgpu
  %ot = transpose(%o) {perm = [0, 2, 1, 3]} : f32[B,T,2,4] @webgpu
  %y = reshape(%ot) {shape = [0, 0, 8], copy = [0, 1]} : f32[B,T,8] @webgpu
  %z = add(%y, %x) : f32[B,T,8] @webgpu
  return %z
}
`, [{ B: 2, T: 50 }, { B: 1, T: 1 }, { B: 3, T: 7 }, { B: 2, T: 33 }]);
  });

  it('resizes by given scales, a transposed convolution and an unfused batch_norm over a varying batch, height (a multiple of 4) and width', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,2,"4*H",W] @webgpu) -> (f32[N,2,"8*H","2*W"] @webgpu, f32[N,2,"2*H","floor(3*W/2)"] @webgpu, f32[N,3,"4*H","W+2"] @webgpu, f32[N,3,"4*H","2*W"] @webgpu) sizes(N: [1, 3], H: [1, 5], W: [2, 13]) {
  %sc = const() {value = [0.5, -2]} : f32[2] @webgpu
  %bi = const() {value = [0.25, 1]} : f32[2] @webgpu
  %mu = const() {value = [-0.5, 0.75]} : f32[2] @webgpu
  %va = const() {value = [2, 0.5]} : f32[2] @webgpu
  %b = batch_norm(%x, %sc, %bi, %mu, %va) {epsilon = 0.001} : f32[N,2,"4*H",W] @webgpu
  %r = resize(%b) {mode = "nearest", scales = [1, 1, 2, 2], coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : f32[N,2,"8*H","2*W"] @webgpu
  %l = resize(%b) {mode = "linear", scales = [1, 1, 0.5, 1.5], coordinate_transformation_mode = "half_pixel"} : f32[N,2,"2*H","floor(3*W/2)"] @webgpu
  %w = const() {value = ${weights(2 * 2 * 4)}} : f32[2,2,2,2] @webgpu
  %t = conv_transpose2d(%b, %w) {stride = [2, 2]} : f32[N,2,"8*H","2*W"] @webgpu
  %s = add(%r, %t) : f32[N,2,"8*H","2*W"] @webgpu
  %w3 = const() {value = ${weights(2 * 3 * 9)}} : f32[2,3,3,3] @webgpu
  %u = conv_transpose2d(%b, %w3) {padding = [1, 0, 1, 0], output_padding = [0, 0]} : f32[N,3,"4*H","W+2"] @webgpu
  %v = conv_transpose2d(%x, %w3) {stride = [1, 2], padding = [1, 1, 1, 1], dilation = [1, 1], output_padding = [0, 1]} : f32[N,3,"4*H","2*W"] @webgpu
  return %s, %l, %u, %v
}
`, [{ N: 2, H: 5, W: 13 }, { N: 1, H: 1, W: 2 }, { N: 3, H: 2, W: 7 }, { N: 2, H: 3, W: 10 }]);
  });

  it('resizes four outputs an invocation where the output width is a multiple of 4 at every size (nearest and linear)', async () => {
    const text = `graph g(%x: f32[N,3,H,"2*W"] @webgpu) -> (f32[N,3,"2*H","4*W"] @webgpu, f32[N,3,"2*H","4*W"] @webgpu, f32[N,3,"2*H","4*W"] @webgpu) sizes(N: [1, 3], H: [1, 9], W: [1, 11]) {
  %a = resize(%x) {mode = "nearest", scales = [1, 1, 2, 2], coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : f32[N,3,"2*H","4*W"] @webgpu
  %b = resize(%x) {mode = "nearest", scales = [1, 1, 2, 2]} : f32[N,3,"2*H","4*W"] @webgpu
  %c = resize(%x) {mode = "linear", scales = [1, 1, 2, 2], coordinate_transformation_mode = "half_pixel"} : f32[N,3,"2*H","4*W"] @webgpu
  return %a, %b, %c
}
`;
    expect(compile(parseGraph(text)).kernels.filter((k) => /out: array<vec4</.test(k.wgsl))).toHaveLength(2);
    await checkAcrossSizes(gpu(), text, [{ N: 2, H: 5, W: 11 }, { N: 1, H: 1, W: 1 }, { N: 3, H: 9, W: 4 }, { N: 2, H: 2, W: 7 }]);
  });

  it('pads and slices that cut a varying extent from its start or its end', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,3,W] @webgpu) -> (f32[N,3,"W+1"] @webgpu, f32[N,4,"W-1"] @webgpu, f32[N,2,"floor(W/2)"] @webgpu, f32[N,3,2] @webgpu, f32[N,3,"W+3"] @webgpu) sizes(N: [1, 4], W: [3, 20]) {
  %p = pad(%x) {pads = [0, 0, 1, 0, 0, 2], mode = "reflect"} : f32[N,3,"W+3"] @webgpu
  %e = pad(%x) {pads = [0, 0, 2, 0, 0, 1], mode = "edge"} : f32[N,3,"W+3"] @webgpu
  %c = pad(%x) {pads = [0, 1, -1, 0, 0, 0], value = 1.5} : f32[N,4,"W-1"] @webgpu
  %s = slice(%p) {starts = [1], ends = [-1], axes = [2]} : f32[N,3,"W+1"] @webgpu
  %r = relu(%s) : f32[N,3,"W+1"] @webgpu
  %t = slice(%x) {starts = [0, 1], ends = [1000, 1000], axes = [1, 2], steps = [2, 2]} : f32[N,2,"floor(W/2)"] @webgpu
  %u = slice(%x) {starts = [-2], ends = [1000], axes = [2]} : f32[N,3,2] @webgpu
  %v = sub(%e, %p) : f32[N,3,"W+3"] @webgpu
  return %r, %c, %t, %u, %v
}
`, [{ N: 2, W: 20 }, { N: 1, W: 3 }, { N: 4, W: 8 }, { N: 3, W: 11 }]);
  });

  it('gathers along a fixed axis and along a varying one (negative indices count from the end at every size)', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,5,W] @webgpu) -> (f32[N,4,W] @webgpu, f32[N,5,2,2] @webgpu) sizes(N: [1, 4], W: [2, 30]) {
  %i = const() {value = [4, 0, -1, 2]} : i32[4] @webgpu
  %a = gather(%x, %i) {axis = 1} : f32[N,4,W] @webgpu
  %j = const() {value = [0, -1, -2, 1]} : i32[2,2] @webgpu
  %b = gather(%x, %j) {axis = 2} : f32[N,5,2,2] @webgpu
  return %a, %b
}
`, [{ N: 2, W: 30 }, { N: 1, W: 2 }, { N: 4, W: 9 }]);
  });

  it('gathers elements along a fixed axis and along a varying one (gather_elements), negative indices from the end', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,5,W] @webgpu) -> (f32[1,3,2] @webgpu, f32[1,3,2] @webgpu) sizes(N: [1, 4], W: [2, 30]) {
  %i = const() {value = [4, 0, -1, 2, -5, 3]} : i32[1,3,2] @webgpu
  %a = gather_elements(%x, %i) {axis = 1} : f32[1,3,2] @webgpu
  %j = const() {value = [0, -1, -2, 1, 1, 0]} : i32[1,3,2] @webgpu
  %b = gather_elements(%x, %j) {axis = 2} : f32[1,3,2] @webgpu
  return %a, %b
}
`, [{ N: 2, W: 30 }, { N: 1, W: 2 }, { N: 4, W: 9 }]);
  });

  it('scatters elements along a fixed axis and a varying one (scatter_elements: duplicate indices folded in order, add and max)', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,5,W] @webgpu) -> (f32[N,5,W] @webgpu, f32[N,5,W] @webgpu) sizes(N: [1, 4], W: [2, 30]) {
  %i = const() {value = [4, 0, -1, 4, 0, 2]} : i32[1,3,2] @webgpu
  %u = const() {value = [1.5, -2, 3, 0.25, 7, -1]} : f32[1,3,2] @webgpu
  %a = scatter_elements(%x, %i, %u) {axis = 1, reduction = "add"} : f32[N,5,W] @webgpu
  %j = const() {value = [0, -1, -2, 1, 1, 1]} : i32[1,3,2] @webgpu
  %b = scatter_elements(%x, %j, %u) {axis = 2, reduction = "max"} : f32[N,5,W] @webgpu
  return %a, %b
}
`, [{ N: 2, W: 30 }, { N: 1, W: 2 }, { N: 4, W: 9 }]);
  });

  it('gathers and scatters slices by index tuples (gather_nd, scatter_nd) whose slices vary in size', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,5,W] @webgpu) -> (f32[2,W] @webgpu, f32[N,5,W] @webgpu) sizes(N: [1, 4], W: [2, 30]) {
  %i = const() {value = [0, 4, 0, -2]} : i32[2,2] @webgpu
  %a = gather_nd(%x, %i) : f32[2,W] @webgpu
  %u = mul(%a, %a) : f32[2,W] @webgpu
  %b = scatter_nd(%x, %i, %u) {reduction = "add"} : f32[N,5,W] @webgpu
  return %a, %b
}
`, [{ N: 2, W: 30 }, { N: 1, W: 2 }, { N: 4, W: 9 }]);
  });

  it('scans and top-k selections along a varying axis and across one (cumsum, cumprod, top_k)', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,3,W] @webgpu) -> (f32[N,3,W] @webgpu, f32[N,3,W] @webgpu, f32[N,3,2] @webgpu, i32[N,3,2] @webgpu, f32[N,2,W] @webgpu, i32[N,2,W] @webgpu) sizes(N: [1, 4], W: [2, 30]) {
  %a = cumsum(%x) {axis = 2} : f32[N,3,W] @webgpu
  %b = cumprod(%x) {axis = 1, exclusive = true, reverse = true} : f32[N,3,W] @webgpu
  %v, %i = top_k(%x) {axis = 2, k = 2} : f32[N,3,2] @webgpu, i32[N,3,2] @webgpu
  %s, %j = top_k(%x) {axis = 1, k = 2, largest = false} : f32[N,2,W] @webgpu, i32[N,2,W] @webgpu
  return %a, %b, %v, %i, %s, %j
}
`, [{ N: 2, W: 30 }, { N: 1, W: 2 }, { N: 4, W: 9 }]);
  });

  it('samples at a grid, pools regions of interest and picks where maxima are (grid_sample, roi_align, max_pool2d_indices) over a varying batch and plane', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,2,H,W] @webgpu, %grid: f32[N,3,W,2] @webgpu) -> (f32[N,2,3,W] @webgpu, f32[N,2,3,W] @webgpu, f32[3,2,2,3] @webgpu, i32[N,2,"floor((H+1)/2)","floor((W+1)/2)"] @webgpu) sizes(N: [1, 3], H: [2, 12], W: [2, 16]) {
  %a = grid_sample(%x, %grid) {mode = "linear", padding_mode = "border"} : f32[N,2,3,W] @webgpu
  %b = grid_sample(%x, %grid) {mode = "cubic", padding_mode = "reflection", align_corners = true} : f32[N,2,3,W] @webgpu
  %r = const() {value = [0, 0, 1.5, 1.5, 0.5, 0.25, 3, 2, -1, 0, 10, 9]} : f32[3,4] @webgpu
  %i = const() {value = [0, 0, 0]} : i32[3] @webgpu
  %c = roi_align(%x, %r, %i) {mode = "max", output_height = 2, output_width = 3, sampling_ratio = 0} : f32[3,2,2,3] @webgpu
  %d = max_pool2d_indices(%x) {kernel_size = [3, 3], stride = [2, 2], padding = [1, 1, 1, 1], column_major = true} : i32[N,2,"floor((H+1)/2)","floor((W+1)/2)"] @webgpu
  return %a, %b, %c, %d
}
`, [{ N: 2, H: 12, W: 16 }, { N: 1, H: 2, W: 2 }, { N: 3, H: 5, W: 9 }]);
  });

  it('deformable convolution (deform_conv2d) over a varying batch and plane, its offsets and mask as inputs', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,4,H,W] @webgpu, %off: f32[N,18,"floor((H+1)/2)",W] @webgpu, %mask: f32[N,9,"floor((H+1)/2)",W] @webgpu) -> (f32[N,6,"floor((H+1)/2)",W] @webgpu) sizes(N: [1, 3], H: [2, 12], W: [2, 16]) {
  %w = const() {value = ${weights(6 * 2 * 9)}} : f32[6,2,3,3] @webgpu
  %b = const() {value = ${weights(6)}} : f32[6] @webgpu
  %y = deform_conv2d(%x, %w, %off, %b, %mask) {stride = [2, 1], padding = [1, 1, 1, 1], groups = 2} : f32[N,6,"floor((H+1)/2)",W] @webgpu
  return %y
}
`, [{ N: 2, H: 12, W: 16 }, { N: 1, H: 2, W: 2 }, { N: 3, H: 7, W: 5 }]);
  });

  it('refuse a slice whose cut of a varying extent moves with the size, naming the node', () => {
    expect(() => parseGraph(`graph g(%x: f32[N,W] @webgpu) -> (f32[N,4] @webgpu) sizes(N: [1, 4], W: [3, 20]) {
  %s = slice(%x) {starts = [0], ends = [4], axes = [1]} : f32[N,4] @webgpu
  return %s
}
`)).toThrow(/slicing dimension 1 \(W\) from 0 to 4 by 1 cuts it at a place that depends on its size/);
  });

  it('refuse a size outside its range, and inputs that disagree on a shared size, naming the input and dimension', async () => {
    const program = compile(parseGraph(`graph g(%x: f32[N,4] @webgpu, %y: f32[N,4] @webgpu) -> (f32[N,4] @webgpu) sizes(N: [2, 8]) {
  %s = add(%x, %y) : f32[N,4] @webgpu
  return %s
}
`));
    const session = await Session.create(gpu(), program);
    try {
      const t = (n: number) => tensorData('f32', [n, 4], new Array(n * 4).fill(1));
      await expect(session.run({ x: t(9), y: t(9) })).rejects.toThrow("input 'x' dimension 0 (N) is 9, outside the range 2..8 the program was compiled for");
      await expect(session.run({ x: t(3), y: t(4) })).rejects.toThrow("input 'y' dimension 0 gives N = 4, but input 'x' dimension 0 gave N = 3: inputs sharing a size must agree");
      await expect(session.run({ x: tensorData('f32', [3, 5], new Array(15).fill(1)), y: t(3) })).rejects.toThrow("input 'x' dimension 1 must be 4 (f32[N,4]), got 5 in [3,5]");
      expect((await session.run({ x: t(3), y: t(3) })).s!.shape).toEqual([3, 4]);
    } finally {
      session.destroy();
    }
  });
});

describe('sizes stepped by a multiple', () => {
  const gpu = useGpu();

  it('bind from an extent that is a multiple of its step, and refuse one that is not, naming the input and dimension', async () => {
    const program = compile(parseGraph(`graph g(%x: f32[2,"4*H"] @webgpu) -> (f32[2,"2*H"] @webgpu) sizes(H: [1, 8]) {
  %m = max_pool2d(%x) {kernel_size = [1, 2], stride = [1, 2]} : f32[2,"2*H"] @webgpu
  return %m
}
`.replace(/f32\[2,/g, 'f32[1,1,2,')));
    expect(program.sizes).toEqual([{ name: 'H', min: 1, max: 8 }]);
    const session = await Session.create(gpu(), program);
    try {
      const t = (w: number) => tensorData('f32', [1, 1, 2, w], Array.from({ length: 2 * w }, (_, i) => (i * 7) % 5));
      await expect(session.run({ x: t(10) })).rejects.toThrow("input 'x' dimension 3 (4*H) is 10, not a multiple of 4 as the program was compiled for");
      await expect(session.run({ x: t(36) })).rejects.toThrow("input 'x' dimension 3 (4*H) is 36, outside the range 4..32 the program was compiled for");
      const got = await session.run({ x: t(12) });
      expect(got.m!.shape).toEqual([1, 1, 2, 6]);
      expect(Array.from(got.m!.data as Float32Array)).toEqual([2, 4, 3, 4, 3, 2, 4, 3, 4, 3, 2, 4]);
    } finally {
      session.destroy();
    }
  });
});

describe('an artifact compiled for a range of shapes', () => {
  const gpu = useGpu();

  it('records its sizes, and InferenceSession runs any size in them (a bare array gives the one extent that varies)', async () => {
    const g = parseGraph(`graph g(%x: f32[N,4] @webgpu) -> (f32[N,2] @webgpu) sizes(N: [1, 64]) {
  %w = const() {value = [1, 0, 0, 1, 1, 1, -1, 2]} : f32[4,2] @webgpu
  %y = matmul(%x, %w) : f32[N,2] @webgpu
  return %y
}
`);
    const dir = join(await tempDir(), 'dyn.kiln');
    await saveArtifact(dir, compile(g));
    const manifest = parseManifest(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.inputs[0]!.dims).toEqual(['N', 4]);
    expect(manifest.variants[0]!.program!.sizes).toEqual([{ name: 'N', min: 1, max: 64 }]);
    const session = await InferenceSession.create(dir, { device: gpu() });
    try {
      expect(session.inputMetadata[0]!.shape).toEqual(['N', 4]);
      for (const n of [3, 64, 1]) {
        const x = tensorData('f32', [n, 4], Array.from({ length: n * 4 }, (_, i) => (i % 7) - 3));
        const want = runOnCpu(instantiateGraph(g, { N: n }), { x }).y!;
        const got = await session.run({ x });
        expect([...got.y!.dims]).toEqual([n, 2]);
        expect(Array.from(got.y!.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
        const bare = await session.run({ x: x.data as Float32Array });
        expect([...bare.y!.dims]).toEqual([n, 2]);
      }
    } finally {
      await session.release();
    }
  });
});

describe('ops that run on the CPU', () => {
  const gpu = useGpu();

  it('run at each run\'s sizes between WebGPU segments, from one compiled program', async () => {
    const g = parseGraph(`graph g(%x: f32[N,2,2] @webgpu) -> (f32[N] @webgpu) sizes(N: [1, 16]) {
  %e = exp(%x) : f32[N,2,2] @webgpu
  %c = det(%e) : f32[N] @webgpu
  %r = relu(%c) : f32[N] @webgpu
  return %r
}
`);
    const program = compileSegmented(g);
    expect(program.segments.map((s) => s.device)).toEqual(['webgpu', 'cpu', 'webgpu']);
    const session = await SegmentedSession.create(gpu(), program);
    try {
      for (const n of [3, 16, 1]) {
        const fixed = instantiateGraph(g, { N: n });
        const inputs = inputsAt(fixed, n);
        const got = await session.run(inputs);
        expect(got.r!.shape).toEqual([n]);
        expectClose(got.r!, runOnCpu(fixed, inputs).r!, 1e-5, 1e-4);
      }
    } finally {
      session.destroy();
    }
  });
});
