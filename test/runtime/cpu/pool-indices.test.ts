import { describe, expect, it } from 'vitest';
import { runNode } from './run-node.js';

// max_pool2d_indices against answers worked out by hand (the ONNX suite's MaxPool cases with
// argmax check it further in backend-conformance.test.ts).

const indices = (shape: number[], values: number[], attrs: Record<string, unknown>) =>
  Array.from(runNode('max_pool2d_indices', [{ shape, values }], attrs as never).data as Int32Array);

describe('max_pool2d_indices', () => {
  // Two planes of 3x3: plane 1 starts at index 9.
  const x = [1, 5, 2, 7, 3, 0, 4, 8, 6, /* plane 1 */ -1, -2, -3, -4, -5, -6, -7, -8, -9];

  it('flat indices over the whole tensor, row-major, padding never counted', () => {
    expect(indices([1, 2, 3, 3], x, { kernel_size: [2, 2], stride: [1, 1] })).toEqual([3, 1, 7, 7, 9, 10, 12, 13]);
    expect(indices([1, 2, 3, 3], x, { kernel_size: [2, 2], stride: [2, 2], padding: [1, 1, 0, 0] })).toEqual([0, 1, 3, 7, 9, 10, 12, 13]);
  });
  it('column-major numbers each plane column by column', () => {
    // Row-major 3 = (h 1, w 0) -> 1; 1 = (0, 1) -> 3; 7 = (2, 1) -> 5; plane 1 adds 9.
    expect(indices([1, 2, 3, 3], x, { kernel_size: [2, 2], stride: [1, 1], column_major: true })).toEqual([1, 3, 5, 5, 9, 12, 10, 13]);
  });
  it('ties pick the first in window order; NaN wins', () => {
    expect(indices([1, 1, 2, 2], [2, 2, 2, 2], { kernel_size: [2, 2] })).toEqual([0]);
    expect(indices([1, 1, 2, 2], [1, 9, NaN, 9], { kernel_size: [2, 2] })).toEqual([2]);
    expect(indices([1, 1, 1, 2], [-Infinity, -Infinity], { kernel_size: [1, 2] })).toEqual([0]);
  });
});
