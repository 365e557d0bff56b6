import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { printGraph } from '../../src/ir/printer.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { compileSegmented } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { SegmentedSession } from '../../src/runtime/segmented.js';
import { useGpu } from '../helpers/gpu.js';

const values = (t: TensorData) => Array.from(t.data as ArrayLike<number>);

describe('data-dependent extents between CPU and WebGPU segments', () => {
  const gpu = useGpu();

  it('runs unique then a WebGPU mul at inputs giving different K, from one compiled program', async () => {
    const g = parseGraph(`graph g(%x: f32[6] @webgpu) -> (f32[K] @webgpu, i32[6] @webgpu) sizes(K: [1, 6]) {
  %y, %first, %inverse, %counts = unique(%x) {size = "K"} : f32[K] @webgpu, i32[K] @webgpu, i32[6] @webgpu, i32[K] @webgpu
  %two = const() {value = [2]} : f32[] @webgpu
  %z = mul(%y, %two) : f32[K] @webgpu
  return %z, %inverse
}
`);
    const program = compileSegmented(g);
    expect(printGraph(program.graph)).toContain('unique(%0) {size = "K"} : f32[K] @cpu, i32[K] @cpu, i32[6] @cpu, i32[K] @cpu');
    const session = await SegmentedSession.create(gpu(), program);
    try {
      for (const xs of [[3, 1, 3, 2, 1, 3], [5, 5, 5, 5, 5, 5], [6, 5, 4, 3, 2, 1]]) {
        const x = tensorData('f32', [6], xs);
        const got = await session.run({ x });
        const want = runOnCpu(g, { x });
        expect(got.z!.shape).toEqual(want.z!.shape);
        expect(values(got.z!)).toEqual(values(want.z!));
        expect(values(got.inverse!)).toEqual(values(want.inverse!));
      }
    } finally {
      session.destroy();
    }
  });

  it('runs nonzero then WebGPU ops at every count, none included (NaN counts as nonzero)', async () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (i32[2,"nonzero_1"] @webgpu, i32[2,"nonzero_1"] @webgpu) {
  %i = nonzero(%x) : i32[2,"nonzero_1"] @webgpu
  %one = const() {value = [1]} : i32[] @webgpu
  %j = add(%i, %one) : i32[2,"nonzero_1"] @webgpu
  return %j, %i
}
`.replace(/"nonzero_1"/g, 'nonzero_1').replace(') {\n', ') sizes(nonzero_1: [0, 6]) {\n'));
    const session = await SegmentedSession.create(gpu(), compileSegmented(g));
    try {
      for (const xs of [[0, 0, 0, 0, 0, 0], [0, 1, 0, -2, 0, NaN], [1, 2, 3, 4, 5, 6], [0, -0, 0, 0, 0, 0.5]]) {
        const x = tensorData('f32', [2, 3], xs);
        const got = await session.run({ x });
        const want = runOnCpu(g, { x });
        for (const name of ['i', 'j']) {
          expect(got[name]!.shape).toEqual(want[name]!.shape);
          expect(values(got[name]!)).toEqual(values(want[name]!));
        }
      }
      const some = await session.run({ x: tensorData('f32', [2, 3], [0, 1, 0, -2, 0, NaN]) });
      expect(some.i!.shape).toEqual([2, 3]);
      expect(values(some.i!)).toEqual([0, 1, 1, 1, 0, 2]);
    } finally {
      session.destroy();
    }
  });

  it('keeps a data-dependent op on constants for the run (its readers are typed with its size, not a number)', async () => {
    const g = parseGraph(`graph g() -> (i32[1,K] @webgpu) sizes(K: [0, 4]) {
  %x = const() {value = [0, 1, 0, 2]} : f32[4] @webgpu
  %i = nonzero(%x) {size = "K"} : i32[1,K] @webgpu
  %one = const() {value = [1]} : i32[] @webgpu
  %j = add(%i, %one) : i32[1,K] @webgpu
  return %j
}
`);
    const session = await SegmentedSession.create(gpu(), compileSegmented(g));
    try {
      const got = await session.run({});
      expect(got.j!.shape).toEqual([1, 2]);
      expect(values(got.j!)).toEqual([2, 4]);
    } finally {
      session.destroy();
    }
  });

  it('reduces over a data-dependent extent on the GPU, an empty one included; buffers are sized for its range\'s top', async () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (f32[2] @webgpu) sizes(K: [0, 6]) {
  %i = nonzero(%x) {size = "K"} : i32[2,K] @webgpu
  %f = cast(%i) {to = "f32"} : f32[2,K] @webgpu
  %s = sum(%f) {axes = [1]} : f32[2] @webgpu
  return %s
}
`);
    const program = compileSegmented(g);
    const gpuInputs = program.segments.flatMap((s) => (s.device === 'webgpu' ? s.program.inputs : []));
    expect(gpuInputs.map((b) => [b.shape, b.dims])).toEqual([[[2, 6], [2, 'K']]]);
    const session = await SegmentedSession.create(gpu(), program);
    try {
      for (const xs of [[0, 0, 0, 0, 0, 0], [0, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1]]) {
        const x = tensorData('f32', [2, 3], xs);
        const got = await session.run({ x });
        expect(values(got.s!)).toEqual(values(runOnCpu(g, { x }).s!));
      }
    } finally {
      session.destroy();
    }
  });
});
