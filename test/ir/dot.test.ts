import { describe, expect, it } from 'vitest';
import { graphToDot } from '../../src/ir/dot.js';
import { parseGraph } from '../../src/ir/parser.js';
import { fuseElementwise } from '../../src/passes/fuse.js';

describe('graphToDot', () => {
  it('draws fused kernels as boxes listing their ops, devices as colours and transfers as diamonds', () => {
    const g = parseGraph(`graph g(%x: f32[4] @webgpu) -> (f32[4] @cpu) {
  %0 = neg(%x) : f32[4] @webgpu
  %1 = relu(%0) : f32[4] @webgpu
  %2 = transfer(%1) : f32[4] @cpu
  %3 = exp(%2) : f32[4] @cpu
  return %3
}
`);
    const dot = graphToDot(fuseElementwise.run(g, {}));
    expect(dot).toMatch(/^digraph "g" \{/);
    expect(dot).toContain('label="neg_relu  %1\\n(fused kernel)\\nneg\\nrelu", penwidth=2, fillcolor="#cfe3ff"');
    expect(dot).toContain('label="transfer -> @cpu\\n%2", shape=diamond');
    expect(dot).toContain('label="exp  %3", fillcolor="#ffe2b8"');
    expect(dot).toMatch(/n\d -> out0;/);
  });

  it('lists constants in the label of their reader (a shared scalar draws no edge), names nodes and leaves dead ones out', () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (f32[2,3] @webgpu) {
  %w = const() {value = [1, 2, 3, 4, 5, 6]} : f32[2,3] @webgpu
  %half = const() {value = [0.5]} : f32[] @webgpu
  %a = mul(%x, %half) : f32[2,3] @webgpu
  %b = add(%a, %w) : f32[2,3] @webgpu
  %c = mul(%b, %half) : f32[2,3] @webgpu
  %unused = exp(%x) : f32[2,3] @webgpu
  return %c
}
`);
    const dot = graphToDot(g);
    expect(dot).not.toMatch(/shape=note/);
    expect(dot).toContain('label="mul  %a\\nin1: 0.5"');
    expect(dot).toContain('label="add  %b\\nin1: f32[2,3]"');
    expect(dot).toContain('label="mul  %c\\nin1: 0.5"');
    expect(dot).not.toContain('%unused');
    // Edges: x -> a, a -> b, b -> c, c -> out; none from a constant.
    expect(dot.match(/ -> /g)).toHaveLength(4);
  });
});
