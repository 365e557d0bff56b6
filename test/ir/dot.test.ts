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
    expect(dot).toContain('label="neg_relu\\n(fused kernel)\\nneg\\nrelu", penwidth=2, fillcolor="#cfe3ff"');
    expect(dot).toContain('label="transfer -> @cpu", shape=diamond');
    expect(dot).toContain('label="exp", fillcolor="#ffe2b8"');
    expect(dot).toMatch(/n\d -> out0;/);
  });
});
