import type { Shape } from '../../ir/types.js';

/**
 * Calls `visit(outIndex, inOffsets)` for every element of `outShape` in row-major order,
 * where inOffsets[k] is the element offset in input k under its strides `inStrides[k]`.
 */
export function forEachIndex(outShape: Shape, inStrides: number[][], visit: (i: number, offsets: number[]) => void): void {
  const rank = outShape.length;
  const n = outShape.reduce((p, d) => p * d, 1);
  if (n === 0) return;
  const coord = new Array<number>(rank).fill(0);
  const offsets = inStrides.map(() => 0);
  for (let i = 0; i < n; i++) {
    visit(i, offsets);
    // Advance the odometer, updating offsets incrementally.
    for (let d = rank - 1; d >= 0; d--) {
      coord[d]!++;
      for (let k = 0; k < offsets.length; k++) offsets[k]! += inStrides[k]![d]!;
      if (coord[d]! < outShape[d]!) break;
      for (let k = 0; k < offsets.length; k++) offsets[k]! -= inStrides[k]![d]! * outShape[d]!;
      coord[d] = 0;
    }
  }
}
