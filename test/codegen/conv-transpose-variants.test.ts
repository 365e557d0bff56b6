import { describe, expect, it } from 'vitest';
import { expectRaceFree } from '../helpers/kernel-lint.js';
import { compile } from '../../src/compiler.js';
import { CONV_TRANSPOSE_VARIANTS } from '../../src/codegen/lower/conv.js';
import { heuristicChooser } from '../../src/codegen/lower/heuristics.js';
import { lowerNode } from '../../src/codegen/lower/index.js';
import { Graph } from '../../src/ir/graph.js';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import type { Attrs } from '../../src/ir/attrs.js';
import type { Shape } from '../../src/ir/types.js';
import { useGpu } from '../helpers/gpu.js';
import { expectProgramAgrees } from '../helpers/compare.js';
import { randomInputs } from '../../src/io/random-inputs.js';

// Every kernel variant of conv_transpose2d must compute the same thing: strides wider and
// narrower than the kernel, per-axis stride and dilation, padding, output padding, groups,
// partial channel and column blocks, fused epilogues, and sizes that vary from run to run.

/** A one-node conv_transpose2d graph over x, weight and (when given) bias inputs. */
function convTranspose(shapes: Shape[], attrs: Attrs): Graph {
  const g = new Graph('conv_transpose');
  const ins = shapes.map((s, i) => g.addInput(['x', 'w', 'b'][i]!, { dtype: 'f32', shape: s, device: 'webgpu' }));
  g.setOutputs([g.addNode('conv_transpose2d', ins, attrs).output]);
  return g;
}

const CASES: Record<string, () => Graph> = {
  '2x2 stride 2 with bias, 5 output channels (a partial vector)': () => convTranspose([[1, 6, 5, 7], [6, 5, 2, 2], [5]], { stride: [2, 2] }),
  'stride 1, 3x3, padding 1, batch 2': () => convTranspose([[2, 3, 5, 4], [3, 4, 3, 3]], { padding: [1, 1, 1, 1] }),
  'stride 2, padding 1, output_padding 1, bias': () =>
    convTranspose([[2, 5, 7, 6], [5, 3, 3, 3], [3]], { stride: [2, 2], padding: [1, 1, 1, 1], output_padding: [1, 1] }),
  'per-axis stride and dilation, asymmetric padding and output_padding': () =>
    convTranspose([[1, 4, 5, 5], [4, 6, 3, 2]], { stride: [2, 3], dilation: [2, 1], padding: [0, 1, 2, 0], output_padding: [1, 2] }),
  'groups 2 with 3 output channels per group, 4x4 kernel, stride 2': () =>
    convTranspose([[1, 4, 6, 5], [4, 3, 4, 4], [6]], { groups: 2, stride: [2, 2], padding: [1, 1, 1, 1] }),
  'depthwise (groups = channels), stride 2': () => convTranspose([[1, 5, 6, 6], [5, 1, 3, 3]], { groups: 5, stride: [2, 2] }),
  '1x1 stride 2; stride 3 wider than the output': () => convTranspose([[2, 3, 4, 3], [3, 2, 1, 1]], { stride: [2, 2] }),
  'stride 3 wider than the output, bias': () => convTranspose([[1, 2, 2, 1], [2, 3, 1, 1], [3]], { stride: [3, 3] }),
  '12 output channels (two blocks, the second partial), a row of several workgroups': () =>
    convTranspose([[1, 3, 4, 70], [3, 12, 2, 2], [12]], { stride: [2, 2] }),
  'one output channel over a wide row (a segmentation head\'s last layer)': () => convTranspose([[1, 6, 3, 75], [6, 1, 2, 2]], { stride: [2, 2] }),
  'a residual add and sigmoid fused after it': () => parseGraph(`graph g(%x: f32[2,3,5,6] @webgpu, %w: f32[3,4,3,3] @webgpu, %b: f32[4] @webgpu, %r: f32[2,4,10,12] @webgpu) -> (f32[2,4,10,12] @webgpu) {
  %0 = conv_transpose2d(%x, %w, %b) {stride = [2, 2], padding = [1, 1, 1, 1], output_padding = [1, 1]} : f32[2,4,10,12] @webgpu
  %1 = add(%0, %r) : f32[2,4,10,12] @webgpu
  %2 = sigmoid(%1) : f32[2,4,10,12] @webgpu
  return %2
}
`),
};

const only = (variant: string) => ({ choose: (family: string) => (family === 'conv_transpose' ? variant : undefined) });

describe('conv_transpose2d kernel variants agree with the CPU reference', () => {
  const gpu = useGpu();

  for (const variant of CONV_TRANSPOSE_VARIANTS) {
    for (const [name, make] of Object.entries(CASES)) {
      it(`${variant}: ${name}`, { timeout: 120_000 }, async () => {
        const g = make();
        const program = compile(g, only(variant));
        // One kernel, the epilogue fused; the row kernel is the one dispatched by workgroup.
        expect(program.dispatches).toHaveLength(1);
        expect(program.kernels.some((k) => /workgroup_id/.test(k.wgsl))).toBe(variant === 'rows');
        await expectProgramAgrees(gpu(), program, [{ graph: g, inputs: randomInputs(g, name.length) }]);
      });
    }

    it(`${variant}: one program serves a varying batch, height and width`, { timeout: 120_000 }, async () => {
      const g = parseGraph(`graph g(%x: f32[N,3,H,W] @webgpu, %w: f32[3,5,3,3] @webgpu) -> (f32[N,5,"2*H",W] @webgpu) sizes(N: [1, 2], H: [1, 9], W: [1, 40]) {
  %0 = conv_transpose2d(%x, %w) {stride = [2, 1], padding = [1, 1, 1, 1], output_padding = [1, 0]} : f32[N,5,"2*H",W] @webgpu
  %1 = relu(%0) : f32[N,5,"2*H",W] @webgpu
  return %1
}
`);
      const program = compile(g, only(variant));
      expect(program.sizes?.length).toBeGreaterThan(0);
      await expectProgramAgrees(gpu(), program, [{ N: 2, H: 9, W: 40 }, { N: 1, H: 1, W: 1 }, { N: 1, H: 4, W: 17 }].map((env, i) => {
        const fixed = instantiateGraph(g, env);
        return { graph: fixed, inputs: randomInputs(fixed, 5 + i) };
      }));
    });
  }
});

describe('the row conv_transpose2d kernel passes static checks', () => {
  // wgsl_reflect's interpreter runs every workgroup: no two invocations may write the same output element.
  it('partial channel and column blocks, grouped, stride 3', () => {
    const g = convTranspose([[1, 4, 2, 3], [4, 5, 3, 2]], { groups: 2, stride: [2, 3], padding: [1, 0, 0, 1] });
    const node = g.nodes[0]!;
    const [k] = lowerNode(node, { choose: () => 'rows' });
    expectRaceFree(node, k!);
  });
});

describe('the heuristic for conv_transpose2d', () => {
  it('takes the row kernel on software adapters, the flat kernel on GPUs', () => {
    const all = [...CONV_TRANSPOSE_VARIANTS];
    const det = 'f32:1x24x160x160->24x320x320:k2x2:s2x2:d1x1:p0,0,0,0';
    expect(heuristicChooser('software')('conv_transpose', det, all)).toBe('rows');
    expect(heuristicChooser('software')('conv_transpose', det, ['direct'])).toBe('direct');
    expect(heuristicChooser('gpu')('conv_transpose', det, all)).toBe('direct');
  });
});
