import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat } from '../types.js';
import { conv2dGeometry, intList, requireNchw } from './conv.js';
import { defineOp } from './registry.js';

// The weight gradient of conv2d as an op of its own: the reduction over batch and output pixels
// has a shape no forward kernel computes efficiently (a tiny output, a huge reduction), and it
// keeps grouped convolutions simple. The input gradient needs no op: it is conv_transpose2d.

/**
 * conv2d_backward_weight(x [N,C,H,W], dy [N,O,OH,OW]) -> dw [O, C/groups, KH, KW]:
 * dw[o,c,kh,kw] = sum over n, oh, ow of dy[n,o,oh,ow] * x[n, g*C/groups + c, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw]
 * (zero outside the input), for the conv2d with these attributes that maps x to dy's shape.
 */
defineOp({
  name: 'conv2d_backward_weight', kind: 'anchor', inputs: 2,
  attrs: {
    kernel_size: { kind: 'ints' },
    stride: { kind: 'ints', default: [1, 1] },
    padding: { kind: 'ints', default: [0, 0, 0, 0] },
    dilation: { kind: 'ints', default: [1, 1] },
    groups: { kind: 'int', default: 1 },
  },
  infer: ([x, dy], attrs) => {
    requireNchw(x!, 'input');
    requireNchw(dy!, 'output gradient');
    if (x!.dtype !== dy!.dtype || !isFloat(x!.dtype)) {
      throw new OpTypeError(`takes f32 or f16 operands of one dtype, got input ${formatShapeType(x!.dtype, x!.shape)} and output gradient ${formatShapeType(dy!.dtype, dy!.shape)}`);
    }
    const [kh, kw] = intList(attrs.kernel_size, 'kernel_size', 2, 1, '[kh, kw]') as [number, number];
    const groups = attrs.groups;
    const [n, c] = x!.shape as [number, number];
    const [dn, o, oh, ow] = dy!.shape as [number, number, number, number];
    if (groups < 1 || c % groups !== 0 || o % groups !== 0) {
      throw new OpTypeError(`groups=${groups} must divide the input channels (${c}) and the output gradient's channels (${o})`);
    }
    if (dn !== n) throw new OpTypeError(`input [${x!.shape.join(',')}] and output gradient [${dy!.shape.join(',')}] have different batch sizes`);
    const w = [o, c / groups, kh, kw];
    const g = conv2dGeometry(x!.shape, w, attrs);
    if (g.outH !== oh || g.outW !== ow) {
      throw new OpTypeError(`conv2d of input [${x!.shape.join(',')}] with a ${kh}x${kw} kernel gives ${g.outH}x${g.outW} outputs, but the output gradient is [${dy!.shape.join(',')}]`);
    }
    return [{ dtype: x!.dtype, shape: w }];
  },
});
