import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat, shapesEqual } from '../types.js';
import { requireNchw } from './conv.js';
import { poolGeometry } from './pool.js';
import { defineOp } from './registry.js';

/**
 * max_pool2d_backward(x [N,C,H,W], dy [N,C,OH,OW]) -> dx [N,C,H,W]: each dy element goes to the
 * input position that won its window in max_pool2d (same attributes): the first maximum in
 * row-major window order, as PyTorch picks it; padding never wins. Positions that win several
 * overlapping windows receive the sum.
 */
defineOp({
  name: 'max_pool2d_backward', kind: 'opaque', inputs: 2,
  attrs: {
    kernel_size: { kind: 'ints' },
    stride: { kind: 'ints', optional: true },
    padding: { kind: 'ints', default: [0, 0, 0, 0] },
    ceil_mode: { kind: 'bool', default: false },
    dilation: { kind: 'ints', default: [1, 1] },
  },
  completeAttrs: (attrs) => (attrs.stride === undefined ? { ...attrs, stride: attrs.kernel_size! } : attrs),
  infer: ([x, dy], attrs) => {
    requireNchw(x!, 'input');
    if (x!.dtype !== dy!.dtype || !isFloat(x!.dtype)) {
      throw new OpTypeError(`takes f32 or f16 operands of one dtype, got input ${formatShapeType(x!.dtype, x!.shape)} and output gradient ${formatShapeType(dy!.dtype, dy!.shape)}`);
    }
    const g = poolGeometry(x!.shape, attrs);
    const want = [g.batch, g.channels, g.outH, g.outW];
    if (!shapesEqual(dy!.shape, want)) {
      throw new OpTypeError(`max_pool2d of input [${x!.shape.join(',')}] gives [${want.join(',')}], but the output gradient is ${formatShapeType(dy!.dtype, dy!.shape)}`);
    }
    return [{ dtype: x!.dtype, shape: [...x!.shape] }];
  },
});
