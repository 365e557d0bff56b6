import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import type { Attrs } from '../../../src/ir/attrs.js';
import { expectRoundTrip } from '../../ir/roundtrip.js';

// grid_sample's reference kernel against answers worked out by hand on X = [[1, 2], [3, 4]]
// (the ONNX suite and ONNX Runtime check it further in test/frontend/onnx).

function sample(grid: number[], attrs: Attrs): number[] {
  const g = new Graph('gs');
  const x = g.addInput('x', { dtype: 'f32', shape: [1, 1, 2, 2], device: 'cpu' });
  const p = g.addInput('grid', { dtype: 'f32', shape: [1, 1, grid.length / 2, 2], device: 'cpu' });
  const node = g.addNode('grid_sample', [x, p], attrs);
  g.setOutputs([node.output]);
  expectRoundTrip(g);
  const r = runOnCpu(g, { x: tensorData('f32', [1, 1, 2, 2], [1, 2, 3, 4]), grid: tensorData('f32', [1, 1, grid.length / 2, 2], grid) });
  return Array.from(r[node.output.name]!.data as Float32Array);
}

describe('grid_sample', () => {
  it('linear: the centre averages all four; corners with align_corners', () => {
    expect(sample([0, 0], { mode: 'linear' })).toEqual([2.5]);
    // (x, y): x picks the column
    expect(sample([-1, -1, 1, -1, -1, 1], { mode: 'linear', align_corners: true })).toEqual([1, 2, 3]);
  });
  it('nearest rounds half to even', () => {
    // (0, 0) -> pixel coordinate 0.5 on both axes -> index 0
    expect(sample([0, 0], { mode: 'nearest' })).toEqual([1]);
    // x = 0.5 -> coordinate 1.0 on the column axis -> column 1
    expect(sample([0.5, -0.5], { mode: 'nearest' })).toEqual([2]);
  });
  it('padding at a corner half a pixel outside: zeros, border, reflection', () => {
    // (-1, -1) without align_corners is pixel coordinate -0.5: half of each tap falls outside.
    expect(sample([-1, -1], { mode: 'linear', padding_mode: 'zeros' })).toEqual([0.25]);
    expect(sample([-1, -1], { mode: 'linear', padding_mode: 'border' })).toEqual([1]);
    expect(sample([-1, -1], { mode: 'linear', padding_mode: 'reflection' })).toEqual([1]);
    // Far outside: border clamps to the last pixel, reflection folds back.
    expect(sample([3, 3], { mode: 'nearest', padding_mode: 'border' })).toEqual([4]);
    // x = -3 is column -1, which reflects about column 0 to column 1.
    expect(sample([-3, -1], { mode: 'linear', padding_mode: 'reflection', align_corners: true })).toEqual([2]);
  });
  it('checks its operands', () => {
    const g = new Graph('bad');
    const x = g.addInput('x', { dtype: 'f32', shape: [1, 1, 2, 2], device: 'cpu' });
    const p = g.addInput('grid', { dtype: 'f32', shape: [1, 3, 3, 3], device: 'cpu' });
    expect(() => g.addNode('grid_sample', [x, p], {})).toThrow(/grid \[N, \.\.\.r output, r\]/);
    expect(() => g.addNode('grid_sample', [x, x], { mode: 'area' })).toThrow(/mode "area"/);
  });
});
