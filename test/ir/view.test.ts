import { describe, expect, it } from 'vitest';
import { denseView, reshapeView, traceView } from '../../src/ir/view.js';
import { parseGraph } from '../../src/ir/parser.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { tensorData } from '../../src/ir/tensor-data.js';

describe('views', () => {
  it('reshapes contiguous views freely and refuses to merge non-adjacent strides', () => {
    expect(reshapeView(denseView([2, 3, 4]), [6, 4])).toEqual({ offset: 0, shape: [6, 4], strides: [4, 1] });
    expect(reshapeView(denseView([6, 4]), [2, 3, 2, 2])).toEqual({ offset: 0, shape: [2, 3, 2, 2], strides: [12, 4, 2, 1] });
    const t = { offset: 0, shape: [4, 6], strides: [1, 4] }; // a transposed [6,4]
    expect(reshapeView(t, [24])).toBeUndefined();
    expect(reshapeView(t, [2, 2, 6])).toEqual({ offset: 0, shape: [2, 2, 6], strides: [2, 1, 4] });
    expect(reshapeView(denseView([3, 1, 5]), [3, 5, 1])).toEqual({ offset: 0, shape: [3, 5, 1], strides: [5, 1, 0] });
  });

  it('a traced view reads exactly what the movement chain computes', () => {
    const g = parseGraph(`graph g(%x: f32[2,7,24] @webgpu) -> (f32[2,4,3,7] @webgpu) {
  %a, %b = split(%x) {axis = 2, sizes = [12, 12]} : f32[2,7,12] @webgpu, f32[2,7,12] @webgpu
  %r = reshape(%b) {shape = [2, 7, 4, 3]} : f32[2,7,4,3] @webgpu
  %t = transpose(%r) {perm = [0, 2, 3, 1]} : f32[2,4,3,7] @webgpu
  %s = slice(%t) {starts = [0], ends = [4], axes = [1], steps = [1]} : f32[2,4,3,7] @webgpu
  return %s
}
`);
    const traced = traceView(g.outputs[0]!)!;
    expect(traced.base.name).toBe('x');
    expect(traced.chain.map((n) => n.op)).toEqual(['split', 'reshape', 'transpose', 'slice']);
    const x = tensorData('f32', [2, 7, 24], Array.from({ length: 336 }, (_, i) => i));
    const want = Array.from(runOnCpu(g, { x }).s!.data as Float32Array);
    // A view of static tensors has numbers only.
    const { offset, shape, strides } = traced.view as { offset: number; shape: number[]; strides: number[] };
    const got: number[] = [];
    for (let i0 = 0; i0 < shape[0]!; i0++) for (let i1 = 0; i1 < shape[1]!; i1++) for (let i2 = 0; i2 < shape[2]!; i2++) for (let i3 = 0; i3 < shape[3]!; i3++) {
      got.push(offset + i0 * strides[0]! + i1 * strides[1]! + i2 * strides[2]! + i3 * strides[3]!);
    }
    expect(got).toEqual(want);
  });
});
