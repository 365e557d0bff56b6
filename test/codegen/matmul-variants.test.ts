import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler.js';
import { MATMUL_VARIANTS } from '../../src/codegen/lower/matmul.js';
import { parseGraph } from '../../src/ir/parser.js';
import { useGpu } from '../helpers/gpu.js';
import { expectProgramAgrees } from '../helpers/compare.js';
import { randomInputs } from '../../src/io/random-inputs.js';

// Every matmul variant the tuner may pick must compute the same thing, on shapes that are not
// multiples of any tile, with batches, broadcasting and operands read through views.
describe('matmul kernel variants', () => {
  const gpu = useGpu();
  const graphs = [
    `graph g(%a: f32[37,53] @webgpu, %b: f32[53,29] @webgpu) -> (f32[37,29] @webgpu) {
  %0 = matmul(%a, %b) : f32[37,29] @webgpu
  return %0
}`,
    `graph g(%a: f32[3,1,9,64] @webgpu, %b: f32[2,64,36] @webgpu) -> (f32[3,2,9,36] @webgpu) {
  %0 = matmul(%a, %b) : f32[3,2,9,36] @webgpu
  return %0
}`,
    `graph g(%a: f32[2,7,24] @webgpu, %b: f32[2,20,24] @webgpu, %c: f32[20] @webgpu) -> (f32[2,7,20] @webgpu) {
  %t = transpose(%b) {perm = [0, 2, 1]} : f32[2,24,20] @webgpu
  %0 = matmul(%a, %t) : f32[2,7,20] @webgpu
  %1 = add(%0, %c) : f32[2,7,20] @webgpu
  %2 = relu(%1) : f32[2,7,20] @webgpu
  return %2
}`,
    `graph g(%a: f32[1,40] @webgpu, %b: f32[40,12] @webgpu) -> (f32[1,12] @webgpu) {
  %0 = matmul(%a, %b) : f32[1,12] @webgpu
  return %0
}`,
  ];
  for (const variant of MATMUL_VARIANTS) {
    it(`${variant}: agrees with the CPU reference`, async () => {
      for (const text of graphs) {
        const g = parseGraph(`${text}\n`);
        const program = compile(g, { choose: (family) => (family === 'matmul' ? variant : undefined) });
        if (variant === 'tiled') expect(program.kernels.some((k) => /var<workgroup> tA/.test(k.wgsl))).toBe(true);
        await expectProgramAgrees(gpu(), program, [{ graph: g, inputs: randomInputs(g, variant.length) }]);
      }
    });
  }
});
