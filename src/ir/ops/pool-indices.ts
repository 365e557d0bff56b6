// Where a max pool's maxima come from: ONNX MaxPool's Indices output (its WebGPU kernel is the
// window pool's loop keeping where the maximum is, src/codegen/kernels/pool.ts).
import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { requireNchw } from './conv.js';
import { poolGeometry, poolWindowAttrs, windowPoolDims } from './pool.js';
import { defineOp } from './registry.js';

/** max_pool2d_indices' attributes: max_pool2d's window, and the order of the flat indices. */
export const maxPoolIndicesAttrs = {
  ...poolWindowAttrs,
  dilation: { kind: 'ints', default: [1, 1] },
  column_major: { kind: 'bool', default: false },
} as const;

/**
 * max_pool2d_indices: for each window of max_pool2d over x [N,C,H,W] (same attributes), the flat
 * index into x of the element max_pool2d picks (i32): the first maximum in row-major window order,
 * or the first NaN. Padding is not counted; with column_major each (n, c) plane is indexed
 * column by column (ONNX's storage_order=1): n*C*H*W + c*H*W + w*H + h.
 */
defineOp({
  name: 'max_pool2d_indices', kind: 'opaque', inputs: 1,
  attrs: maxPoolIndicesAttrs,
  completeAttrs: (attrs) => (attrs.stride === undefined ? { ...attrs, stride: attrs.kernel_size! } : attrs),
  infer: ([x], attrs) => {
    requireNchw(x!, 'input');
    if (x!.dtype === 'bool') throw new OpTypeError(`does not take bool, got ${formatShapeType(x!.dtype, x!.shape)}`);
    if (x!.shape.reduce((a, b) => a * b, 1) > 2 ** 31) throw new OpTypeError(`flat indices of ${formatShapeType(x!.dtype, x!.shape)} do not fit i32`);
    const g = poolGeometry(x!.shape, attrs);
    return [{ dtype: 'i32', shape: [g.batch, g.channels, g.outH, g.outW] }];
  },
  dims: windowPoolDims,
});
