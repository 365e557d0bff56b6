import type { Shape, TypedArray } from '../../../ir/types.js';
import { forEachIndex } from '../indexing.js';

/** One side of a strided copy: an array, the element offset of coordinate 0 and per-dim strides (may be negative). */
export interface StridedView {
  readonly data: TypedArray;
  readonly offset: number;
  readonly strides: readonly number[];
}

/** Copies every element of a `shape`-sized box from `src` to `dst`, each side addressed by its own offset and strides. */
export function copyStrided(shape: Shape, src: StridedView, dst: StridedView): void {
  forEachIndex(shape, [[...src.strides], [...dst.strides]], (_, [s, d]) => {
    dst.data[dst.offset + d!] = src.data[src.offset + s!]!;
  });
}
