import { describe, expect, it } from 'vitest';
import { expectRaceFree } from '../helpers/kernel-lint.js';
import { compile } from '../../src/compiler.js';
import { CONV_VARIANTS, rowsBlocking } from '../../src/codegen/lower/conv.js';
import { heuristicChooser } from '../../src/codegen/lower/heuristics.js';
import { kernelGeometry } from '../../src/codegen/kernels/conv-common.js';
import { conv2dGeometry } from '../../src/ir/ops/conv.js';
import { lowerNode } from '../../src/codegen/lower/index.js';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import type { Graph } from '../../src/ir/graph.js';
import { useGpu } from '../helpers/gpu.js';
import { expectProgramAgrees } from '../helpers/compare.js';
import { randomInputs } from '../../src/io/random-inputs.js';

// Every kernel variant an ungrouped conv2d may be given (by the heuristics or the tuner) must
// compute the same thing: strides, padding, dilation, 1x1 and 3x3 kernels, sizes that are no
// multiple of any tile, fused epilogues, inputs read through views or scaled per channel, and
// sizes that vary from run to run.

const conv = (x: string, w: string, attrs: string, out: string, extra = '') => `
graph g(%x: f32[${x}] @webgpu, %w: f32[${w}] @webgpu, %b: f32[${w.split(',')[0]}] @webgpu${extra}) -> (f32[${out}] @webgpu) {
  %0 = conv2d(%x, %w, %b) {${attrs}} : f32[${out}] @webgpu
  return %0
}
`;

const GRAPHS: Record<string, string> = {
  '1x1, batch 2, odd sizes': conv('2,5,13,11', '6,5,1,1', 'padding = [0, 0, 0, 0]', '2,6,13,11'),
  '3x3 padding 1, 37 output channels (a partial channel tile)': conv('1,11,9,7', '37,11,3,3', 'padding = [1, 1, 1, 1]', '1,37,9,7'),
  'stride 2, asymmetric padding': conv('2,3,13,11', '5,3,3,3', 'stride = [2, 2], padding = [0, 1, 1, 2]', '2,5,6,6'),
  'dilation 2, per-axis stride, non-square kernel': conv('1,9,12,13', '4,9,3,2', 'stride = [1, 2], dilation = [2, 1], padding = [1, 0, 2, 1]', '1,4,11,7'),
  'many pixel tiles and 20 input channels (a partial channel step)': conv('1,20,17,19', '24,20,3,3', 'padding = [1, 1, 1, 1]', '1,24,17,19'),
  '37 input channels (a deep step, partly filled)': conv('1,37,6,5', '9,37,3,3', 'padding = [1, 1, 1, 1]', '1,9,6,5'),
  'a residual add and relu fused after it': `
graph g(%x: f32[2,6,9,11] @webgpu, %w: f32[5,6,3,3] @webgpu, %b: f32[5] @webgpu, %r: f32[2,5,9,11] @webgpu) -> (f32[2,5,9,11] @webgpu) {
  %0 = conv2d(%x, %w, %b) {padding = [1, 1, 1, 1]} : f32[2,5,9,11] @webgpu
  %1 = add(%0, %r) : f32[2,5,9,11] @webgpu
  %2 = relu(%1) : f32[2,5,9,11] @webgpu
  return %2
}
`,
  'hardswish with broadcast scalar operands fused after it': `
graph g(%x: f32[1,16,3,25] @webgpu, %w: f32[40,16,1,1] @webgpu, %b: f32[40] @webgpu, %three: f32[] @webgpu, %six: f32[] @webgpu) -> (f32[1,40,3,25] @webgpu) {
  %0 = conv2d(%x, %w, %b) : f32[1,40,3,25] @webgpu
  %1 = add(%0, %three) : f32[1,40,3,25] @webgpu
  %2 = clip(%1) {min = 0, max = 6} : f32[1,40,3,25] @webgpu
  %3 = mul(%0, %2) : f32[1,40,3,25] @webgpu
  %4 = div(%3, %six) : f32[1,40,3,25] @webgpu
  return %4
}
`,
  'a per-channel scale and shift fused after it (read along their axis)': `
graph g(%x: f32[2,6,7,9] @webgpu, %w: f32[5,6,3,3] @webgpu, %s: f32[1,5,1,1] @webgpu, %t: f32[5,1,1] @webgpu) -> (f32[2,5,7,9] @webgpu) {
  %0 = conv2d(%x, %w) {padding = [1, 1, 1, 1]} : f32[2,5,7,9] @webgpu
  %1 = mul(%0, %s) : f32[2,5,7,9] @webgpu
  %2 = add(%1, %t) : f32[2,5,7,9] @webgpu
  return %2
}
`,
  'an input scaled per channel as it is read (the mul after an SE gate)': `
graph g(%x: f32[2,12,5,9] @webgpu, %s: f32[2,12,1,1] @webgpu, %w: f32[7,12,3,3] @webgpu) -> (f32[2,7,5,9] @webgpu) {
  %0 = mul(%x, %s) : f32[2,12,5,9] @webgpu
  %1 = conv2d(%0, %w) {padding = [1, 1, 1, 1]} : f32[2,7,5,9] @webgpu
  return %1
}
`,
  'an input read through a slice of its channels': `
graph g(%x: f32[2,10,6,7] @webgpu, %w: f32[3,4,3,3] @webgpu) -> (f32[2,3,4,5] @webgpu) {
  %0 = slice(%x) {starts = [3], ends = [7], axes = [1], steps = [1]} : f32[2,4,6,7] @webgpu
  %1 = conv2d(%0, %w) : f32[2,3,4,5] @webgpu
  return %1
}
`,
};

/** Depthwise convolutions (one input channel per group): every variant but the implicit GEMM serves them. */
const DEPTHWISE: Record<string, string> = {
  'depthwise 5x5, stride (2, 1), 23 channels at 7x29': conv('1,23,7,29', '23,1,5,5', 'groups = 23, stride = [2, 1], padding = [2, 2, 2, 2]', '1,23,4,29'),
  'depthwise with channel multiplier 3 and dilation 2': conv('2,2,9,10', '6,1,3,3', 'groups = 2, dilation = [2, 2], padding = [2, 2, 2, 2]', '2,6,9,10'),
  'depthwise 3x3, stride 2, asymmetric padding, a per-channel affine and hardswish fused after it': `
graph g(%x: f32[2,6,11,37] @webgpu, %w: f32[6,1,3,3] @webgpu, %s: f32[1,6,1,1] @webgpu, %three: f32[] @webgpu) -> (f32[2,6,6,19] @webgpu) {
  %0 = conv2d(%x, %w) {groups = 6, stride = [2, 2], padding = [1, 1, 1, 2]} : f32[2,6,6,19] @webgpu
  %1 = mul(%0, %s) : f32[2,6,6,19] @webgpu
  %2 = add(%1, %three) : f32[2,6,6,19] @webgpu
  %3 = clip(%2) {min = 0, max = 6} : f32[2,6,6,19] @webgpu
  %4 = mul(%1, %3) : f32[2,6,6,19] @webgpu
  return %4
}
`,
  'depthwise 3x3 reading a slice of its input channels': `
graph g(%x: f32[1,9,5,40] @webgpu, %w: f32[4,1,3,3] @webgpu) -> (f32[1,4,5,40] @webgpu) {
  %0 = slice(%x) {starts = [2], ends = [6], axes = [1], steps = [1]} : f32[1,4,5,40] @webgpu
  %1 = conv2d(%0, %w) {groups = 4, padding = [1, 1, 1, 1]} : f32[1,4,5,40] @webgpu
  return %1
}
`,
};

/** Grouped convolutions: the implicit GEMM does not serve them (a request for it gets the direct kernel). */
const GROUPED: Record<string, string> = {
  ...DEPTHWISE,
  'groups 3 with 10 output channels per group (a partial channel block)': conv('1,6,5,17', '30,2,3,3', 'groups = 3, padding = [1, 0, 1, 0]', '1,30,5,15'),
};

/**
 * More for the row kernel sharing its weights across a subgroup, which serves windows up to 3
 * wide (see MAX_SHARED_WEIGHTS): input channels that are no multiple of the subgroup size, rows
 * padded, groups, views and input scales on 1x1 layers.
 */
const SHARED: Record<string, string> = {  '1x1 over 37 input channels (a partial subgroup step), 20 outputs': conv('1,37,3,21', '20,37,1,1', '', '1,20,3,21'),
  '3x1 window, 4 output channels, padded rows': conv('2,9,7,12', '4,9,3,1', 'padding = [1, 0, 1, 0]', '2,4,7,12'),
  '1x1, groups 2': conv('1,8,5,19', '6,4,1,1', 'groups = 2', '1,6,5,19'),
  '1x1 over a slice of its input channels': `
graph g(%x: f32[2,13,5,9] @webgpu, %w: f32[7,11,1,1] @webgpu) -> (f32[2,7,5,9] @webgpu) {
  %0 = slice(%x) {starts = [1], ends = [12], axes = [1], steps = [1]} : f32[2,11,5,9] @webgpu
  %1 = conv2d(%0, %w) : f32[2,7,5,9] @webgpu
  return %1
}
`,
  '1x1, its input scaled per channel as it is read': `
graph g(%x: f32[2,11,5,9] @webgpu, %s: f32[2,11,1,1] @webgpu, %w: f32[7,11,1,1] @webgpu) -> (f32[2,7,5,9] @webgpu) {
  %0 = mul(%x, %s) : f32[2,11,5,9] @webgpu
  %1 = conv2d(%0, %w) : f32[2,7,5,9] @webgpu
  return %1
}
`,
};

/**
 * Pointwise convolutions, which the shuffle16x8 matmul serves (pointmm): pixels that are a multiple
 * of 4 (its image read four columns at a time) or not, batches, an input view, epilogues.
 */
const POINTWISE: Record<string, string> = {
  '1x1, batch 2, odd sizes': GRAPHS['1x1, batch 2, odd sizes']!,
  'hardswish with broadcast scalar operands fused after it': GRAPHS['hardswish with broadcast scalar operands fused after it']!,
  '1x1 over 37 input channels (a partial subgroup step), 20 outputs': SHARED['1x1 over 37 input channels (a partial subgroup step), 20 outputs']!,
  '1x1 over a slice of its input channels': SHARED['1x1 over a slice of its input channels']!,
  '1x1 of 32 pixels, batch 2, a per-channel scale and shift fused after it': `
graph g(%x: f32[2,6,4,8] @webgpu, %w: f32[21,6,1,1] @webgpu, %b: f32[21] @webgpu, %s: f32[1,21,1,1] @webgpu, %t: f32[21,1,1] @webgpu) -> (f32[2,21,4,8] @webgpu) {
  %0 = conv2d(%x, %w, %b) : f32[2,21,4,8] @webgpu
  %1 = mul(%0, %s) : f32[2,21,4,8] @webgpu
  %2 = add(%1, %t) : f32[2,21,4,8] @webgpu
  return %2
}
`,
};

/**
 * Rows a multiple of 4 long, which the row kernels read and write four columns at a time
 * (rowVec4Io): windows reaching into the padding by whole and partial quads, strides and
 * dilations along the rows, views and scales on the input, and epilogues reading operands at each
 * output's own index.
 */
const VEC4_ROWS: Record<string, string> = {
  'an RGB stem: 3 input channels, 3x3 stride 2 over rows of 192, 8 outputs': conv('2,3,9,192', '8,3,3,3', 'stride = [2, 2], padding = [1, 1, 1, 1]', '2,8,5,96'),
  '3x3 over rows of 64, input scaled per channel, a residual added after': `
graph g(%x: f32[2,9,5,64] @webgpu, %s: f32[2,9,1,1] @webgpu, %w: f32[8,9,3,3] @webgpu, %b: f32[8] @webgpu, %r: f32[2,8,5,64] @webgpu) -> (f32[2,8,5,64] @webgpu) {
  %0 = mul(%x, %s) : f32[2,9,5,64] @webgpu
  %1 = conv2d(%0, %w, %b) {padding = [1, 1, 1, 1]} : f32[2,8,5,64] @webgpu
  %2 = add(%1, %r) : f32[2,8,5,64] @webgpu
  return %2
}
`,
  '3x3, stride and dilation 2 along rows of 128': conv('1,5,4,128', '6,5,3,3', 'stride = [1, 2], dilation = [1, 2], padding = [1, 2, 1, 2]', '1,6,4,64'),
  '1x1 over rows of 32, a slice of its input channels': `
graph g(%x: f32[1,13,3,32] @webgpu, %w: f32[20,11,1,1] @webgpu) -> (f32[1,20,3,32] @webgpu) {
  %0 = slice(%x) {starts = [1], ends = [12], axes = [1], steps = [1]} : f32[1,11,3,32] @webgpu
  %1 = conv2d(%0, %w) : f32[1,20,3,32] @webgpu
  return %1
}
`,
};
const VEC4_DEPTHWISE: Record<string, string> = {
  '5x5 depthwise over rows of 16, padding 2, stride 2 down, a residual added after': `
graph g(%x: f32[1,6,5,16] @webgpu, %w: f32[6,1,5,5] @webgpu, %b: f32[6] @webgpu, %r: f32[1,6,3,16] @webgpu) -> (f32[1,6,3,16] @webgpu) {
  %0 = conv2d(%x, %w, %b) {groups = 6, stride = [2, 1], padding = [2, 2, 2, 2]} : f32[1,6,3,16] @webgpu
  %1 = add(%0, %r) : f32[1,6,3,16] @webgpu
  return %1
}
`,
  '3x3 depthwise, stride 2 along rows of 64 (quads holding every other column)': conv('1,4,6,64', '4,1,3,3', 'groups = 4, stride = [1, 2], padding = [1, 1, 1, 1]', '1,4,6,32'),
  '3x3 depthwise, multiplier 2, dilation 2 along rows of 16': conv('1,2,6,16', '4,1,3,3', 'groups = 2, dilation = [1, 2], padding = [1, 2, 1, 2]', '1,4,6,16'),
};

/** The graphs each variant is checked on: the ones it serves. */
const GRAPHS_OF: Record<string, Record<string, string>> = {
  direct: { ...GRAPHS, ...GROUPED }, gemm: GRAPHS, rows: { ...GRAPHS, ...GROUPED, ...VEC4_ROWS, ...VEC4_DEPTHWISE }, rowsg: { ...GRAPHS, ...SHARED, ...VEC4_ROWS },
  dwrows: { ...DEPTHWISE, ...VEC4_DEPTHWISE }, dwrowsg: { ...DEPTHWISE, ...VEC4_DEPTHWISE }, pointmm: POINTWISE,
};

const only = (variant: string) => ({ choose: (family: string) => (family === 'conv' ? variant : undefined) });

describe('conv2d kernel variants agree with the CPU reference', () => {
  const gpu = useGpu();

  /** One program compiled with `variant` for `g`'s varying sizes answers as the CPU reference at each of `envs`. */
  async function expectServesSizes(g: Graph, variant: string, envs: readonly Record<string, number>[], seed: number): Promise<void> {
    const program = compile(g, only(variant));
    expect(program.sizes?.length).toBeGreaterThan(0);
    await expectProgramAgrees(gpu(), program, envs.map((env, i) => {
      const fixed = instantiateGraph(g, env);
      return { graph: fixed, inputs: randomInputs(fixed, seed + i) };
    }));
  }

  for (const variant of CONV_VARIANTS) {
    for (const [name, text] of Object.entries(GRAPHS_OF[variant]!)) {
      // Compiling a workgroup-memory kernel takes lavapipe several seconds on a busy machine.
      it(`${variant}: ${name}`, { timeout: 120_000 }, async () => {
        const g = parseGraph(text.trimStart());
        const program = compile(g, only(variant));
        // One kernel: the epilogue, scale and view are fused into the chosen variant.
        expect(program.dispatches).toHaveLength(1);
        expect(program.kernels.some((k) => /var<workgroup> tA/.test(k.wgsl))).toBe(variant === 'gemm');
        // The depthwise row kernel takes its channel from the workgroup id.
        expect(program.kernels.some((k) => /let o = wid\.z % u\.O;/.test(k.wgsl))).toBe(variant.startsWith('dwrows'));
        expect(program.kernels.some((k) => /subgroupShuffle/.test(k.wgsl))).toBe(variant.endsWith('rowsg') || variant === 'pointmm');
        // The pointwise matmul is the shuffle16x8 matmul's 16-row blocks.
        expect(program.kernels.some((k) => /wid\.y \* 16u/.test(k.wgsl))).toBe(variant === 'pointmm');
        // Row kernels read and write rows a multiple of 4 long four columns at a time.
        if (variant.includes('rows') && (name in VEC4_ROWS || name in VEC4_DEPTHWISE)) {
          expect(program.kernels[0]!.wgsl).toMatch(/var<storage, read_write> out: array<vec4<f32>>/);
          expect(program.kernels[0]!.wgsl).toMatch(/var<storage, read> x: array<vec4<f32>>/);
        }
        await expectProgramAgrees(gpu(), program, [{ graph: g, inputs: randomInputs(g, name.length) }]);
      });
    }

    if (!variant.startsWith('dwrows') && variant !== 'pointmm') it(`${variant}: one program serves a varying batch and width`, { timeout: 120_000 }, async () => {
      const g = parseGraph(`graph g(%x: f32[N,6,7,W] @webgpu, %w: f32[9,6,3,3] @webgpu, %b: f32[9] @webgpu) -> (f32[N,9,4,"floor((W+1)/2)"] @webgpu) sizes(N: [1, 3], W: [1, 70]) {
  %0 = conv2d(%x, %w, %b) {padding = [1, 1, 1, 1], stride = [2, 2]} : f32[N,9,4,"floor((W+1)/2)"] @webgpu
  %1 = relu(%0) : f32[N,9,4,"floor((W+1)/2)"] @webgpu
  return %1
}
`);
      await expectServesSizes(g, variant, [{ N: 2, W: 70 }, { N: 1, W: 1 }, { N: 3, W: 17 }], 1);
    });

    it(`${variant}: one program serves a varying height and width, depthwise and 1x1`, { timeout: 120_000 }, async () => {
      const g = parseGraph(`graph g(%x: f32[1,5,H,W] @webgpu, %d: f32[5,1,5,5] @webgpu, %w: f32[11,5,1,1] @webgpu) -> (f32[1,11,"floor((H+1)/2)",W] @webgpu) sizes(H: [1, 20], W: [1, 100]) {
  %0 = conv2d(%x, %d) {groups = 5, stride = [2, 1], padding = [2, 2, 2, 2]} : f32[1,5,"floor((H+1)/2)",W] @webgpu
  %1 = conv2d(%0, %w) : f32[1,11,"floor((H+1)/2)",W] @webgpu
  return %1
}
`);
      await expectServesSizes(g, variant, [{ H: 20, W: 100 }, { H: 1, W: 1 }, { H: 7, W: 33 }], 7);
    });
  }
});

describe('row kernels over f16 rows a multiple of 4 long', () => {
  const gpu = useGpu();
  const graphs: Record<string, string> = {
    ungrouped: `graph g(%x: f16[1,9,5,32] @webgpu, %w: f16[8,9,3,3] @webgpu, %b: f16[8] @webgpu) -> (f16[1,8,5,32] @webgpu) {
  %0 = conv2d(%x, %w, %b) {padding = [1, 1, 1, 1]} : f16[1,8,5,32] @webgpu
  %1 = relu(%0) : f16[1,8,5,32] @webgpu
  return %1
}
`,
    depthwise: `graph g(%x: f16[1,6,5,32] @webgpu, %w: f16[6,1,5,5] @webgpu) -> (f16[1,6,5,32] @webgpu) {
  %0 = conv2d(%x, %w) {groups = 6, padding = [2, 2, 2, 2]} : f16[1,6,5,32] @webgpu
  return %0
}
`,
  };
  for (const variant of ['rows', 'rowsg', 'dwrows', 'dwrowsg']) {
    it(`${variant}: reads and writes four columns at a time, as f16 vectors`, async (ctx) => {
      if (!gpu().features.has('shader-f16')) ctx.skip();
      const g = parseGraph(variant.startsWith('dw') ? graphs['depthwise']! : graphs['ungrouped']!);
      const program = compile(g, only(variant));
      expect(program.kernels[0]!.wgsl).toMatch(/var<storage, read> x: array<vec4<f16>>/);
      expect(program.kernels[0]!.wgsl).toMatch(/var<storage, read_write> out: array<vec4<f16>>/);
      await expectProgramAgrees(gpu(), program, [{ graph: g, inputs: randomInputs(g, 3) }], 3e-2, 3e-2);
    });
  }
});

describe('the implicit GEMM convolution passes static checks', () => {
  // wgsl_reflect's interpreter runs every workgroup: no two invocations may write the same output
  // element, and its barriers must order the workgroup-memory tiles' writes and reads.
  it('partial pixel, channel and input-channel tiles', { timeout: 120_000 }, () => {
    const g = parseGraph(conv('1,9,5,7', '34,9,3,3', 'padding = [1, 1, 1, 1]', '1,34,5,7').trimStart());
    const node = g.nodes[0]!;
    const [k] = lowerNode(node, { choose: () => 'gemm' });
    expect(k!.wgsl).toMatch(/workgroupBarrier/);
    expectRaceFree(node, k!);
  });
});

describe('the software heuristic for conv2d', () => {
  const software = heuristicChooser('software');
  // The variants lowering offers an ungrouped conv (see convVariants).
  const ungrouped = ['direct', 'gemm', 'rows', 'rowsg'];
  const pointwise = [...ungrouped, 'pointmm'];
  it('takes the row kernel for pointwise layers 32 or more wide (no window to unroll), the depthwise row kernel for depthwise ones, the direct kernel elsewhere', () => {
    expect(software('conv', 'f32:1x32x2x96->200x2x96:k1x1:s1x1:d1x1:p0,0,0,0', ungrouped)).toBe('rows');
    expect(software('conv', 'f32:1x96x40x40->96x40x40:k1x1:s1x1:d1x1:p0,0,0,0', ungrouped)).toBe('rows');
    // Narrow rows leave the 8-lane workgroups of the row kernel partly idle.
    expect(software('conv', 'f32:1x384x20x20->96x20x20:k1x1:s1x1:d1x1:p0,0,0,0', ungrouped)).toBe('direct');
    expect(software('conv', 'f32:1x3x48x192->8x24x96:k3x3:s2x2:d1x1:p1,1,1,1', ungrouped)).toBe('direct');
    // The variants a depthwise conv is offered include dwrows; a grouped one's do not.
    expect(software('conv', 'f32:1x32x6x96->32x3x96:k5x5:s2x1:d1x1:p2,2,2,2:g32', ['direct', 'rows', 'dwrows'])).toBe('dwrows');
    expect(software('conv', 'f32:1x6x5x17->30x5x15:k3x3:s1x1:d1x1:p1,0,1,0:g3', ['direct', 'rows'])).toBe('direct');
    expect(software('conv', 'f32:1x8x12x96->8x6x48:k1x1:s2x2:d1x1:p0,0,0,0', ungrouped)).toBe('direct');
    expect(software('conv', 'f32:1x8x12x96->8x12x96:k1x1:s1x1:d1x1:p0,0,0,0:g2', ['direct', 'rows'])).toBe('direct');
    expect(heuristicChooser('gpu')('conv', 'f32:1x32x2x96->200x2x96:k1x1:s1x1:d1x1:p0,0,0,0', ungrouped)).toBe('gemm');
    expect(heuristicChooser('gpu')('conv', 'f32:1x32x6x96->32x3x96:k5x5:s2x1:d1x1:p2,2,2,2:g32', ['direct', 'rows', 'dwrows'])).toBe('direct');
  });
  it('shares the weights of ungrouped layers, of groups of 8 or more input channels, and of depthwise layers, across a subgroup where the adapter offers subgroups', () => {
    const withSubgroups = heuristicChooser('software', ['subgroups']);
    // Pointwise layers of 2^25 multiply-adds or more run as the shuffle16x8 matmul, smaller ones shared-weight rows.
    expect(withSubgroups('conv', 'f32:1x192x40x40->192x40x40:k1x1:s1x1:d1x1:p0,0,0,0', pointwise)).toBe('pointmm');
    expect(withSubgroups('conv', 'f32:1x384x20x20->384x20x20:k1x1:s1x1:d1x1:p0,0,0,0', pointwise)).toBe('pointmm');
    expect(withSubgroups('conv', 'f32:1x96x40x40->96x40x40:k1x1:s1x1:d1x1:p0,0,0,0', pointwise)).toBe('rowsg');
    expect(withSubgroups('conv', 'f32:1x32x2x96->200x2x96:k1x1:s1x1:d1x1:p0,0,0,0', pointwise)).toBe('rowsg');
    // Where the matmul does not serve it (an input scale, int8 weights), a large pointwise layer takes the rows.
    expect(withSubgroups('conv', 'f32:1x192x40x40->192x40x40:k1x1:s1x1:d1x1:p0,0,0,0', ungrouped)).toBe('rowsg');
    expect(withSubgroups('conv', 'f32:1x96x160x160->24x160x160:k3x3:s1x1:d1x1:p1,1,1,1', ungrouped)).toBe('rowsg');
    expect(withSubgroups('conv', 'f32:1x16x12x96->32x12x96:k3x3:s1x1:d1x1:p1,1,1,1:g2', ['direct', 'rows', 'rowsg'])).toBe('rowsg');
    // An RGB stem (ungrouped) reads its rows four columns at a time there; groups of too few
    // input channels to fill a subgroup's lanes do not; a window too wide to share (not offered).
    expect(withSubgroups('conv', 'f32:1x3x640x640->16x320x320:k3x3:s2x2:d1x1:p1,1,1,1', ungrouped)).toBe('rowsg');
    expect(withSubgroups('conv', 'f32:1x12x12x96->32x12x96:k3x3:s1x1:d1x1:p1,1,1,1:g2', ['direct', 'rows', 'rowsg'])).toBe('direct');
    expect(withSubgroups('conv', 'f32:1x16x12x96->16x12x96:k5x5:s1x1:d1x1:p2,2,2,2', ['direct', 'gemm', 'rows'])).toBe('direct');
    expect(withSubgroups('conv', 'f32:1x32x6x96->32x3x96:k5x5:s2x1:d1x1:p2,2,2,2:g32', ['direct', 'rows', 'dwrows', 'dwrowsg'])).toBe('dwrowsg');
    expect(heuristicChooser('gpu', ['subgroups'])('conv', 'f32:1x96x40x40->96x40x40:k1x1:s1x1:d1x1:p0,0,0,0', ungrouped)).toBe('gemm');
  });
  it('keeps a row-kernel invocation to at most 64 accumulators (compile time)', () => {
    const g = parseGraph(conv('1,32,2,96', '200,32,1,1', '', '1,200,2,96').trimStart());
    const node = g.nodes.find((n) => n.op === 'conv2d')!;
    const geometry = kernelGeometry(conv2dGeometry(node.inputs[0]!.type.shape, node.inputs[1]!.type.shape, node.attrs), node.inputs[0]!.type.shape, node.output.type.shape);
    const b = rowsBlocking(geometry);
    expect(b.channels * b.pixels).toBeLessThanOrEqual(64);
    expect(b.channels).toBe(8);
  });
});
