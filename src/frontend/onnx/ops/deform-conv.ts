// DeformConv (opset 19): kiln's deform_conv2d, a CPU op. A missing bias is zeros and a missing
// mask ones, so the op always takes all five operands.
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';
import { makeConst } from '../tensor.js';
import { readWindow } from './window-params.js';

defineOnnxOp('DeformConv', (n) => {
  const [x, w, offset] = [n.input(0), n.input(1), n.input(2)];
  const xs = typeOf(x).shape;
  const ws = typeOf(w).shape;
  if (xs.length !== 4 || ws.length !== 4) n.unsupported(`only 2-D DeformConv is supported, got X of rank ${xs.length}`);
  for (const v of [x, w, offset]) if (typeOf(v).dtype !== 'f32') n.unsupported(`takes float (f32) operands, got ${typeOf(v).dtype}`);
  const kernel = n.attrs.ints('kernel_shape', ws.slice(2));
  if (kernel[0] !== ws[2] || kernel[1] !== ws[3]) n.fail(`kernel_shape [${kernel.join(',')}] does not match the weight [${ws.join(',')}]`);
  const win = readWindow(n, xs.slice(2), kernel);
  const offsetShape = typeOf(offset).shape;
  const bias = n.optional(3) ?? makeConst('deform_conv_bias', 'f32', [ws[0]!], new Array<number>(ws[0]!).fill(0));
  const maskShape = [offsetShape[0]!, offsetShape[1]! / 2, ...offsetShape.slice(2)];
  const mask = n.optional(4) ?? makeConst('deform_conv_mask', 'f32', maskShape, new Array<number>(maskShape.reduce((p, d) => p * d, 1)).fill(1));
  return n.b.op('deform_conv2d', [x, w, offset, bias, mask], {
    stride: win.stride, padding: win.padding, dilation: win.dilation,
    groups: n.attrs.int('group', 1), offset_groups: n.attrs.int('offset_group', 1),
  });
});
