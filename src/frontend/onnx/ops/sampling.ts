// GridSample: a data-dependent gather, kiln's grid_sample op (a CPU op).
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';

/** Mode names by ONNX's spelling: GridSample-16 said bilinear/bicubic, 20 says linear/cubic. */
const MODES: Record<string, string> = { nearest: 'nearest', bilinear: 'linear', linear: 'linear', bicubic: 'cubic', cubic: 'cubic' };

defineOnnxOp('GridSample', (n) => {
  const x = n.input(0);
  const grid = n.input(1);
  const name = n.attrs.string('mode', n.opset < 20 ? 'bilinear' : 'linear');
  const mode = MODES[name];
  if (!mode) return n.unsupported(`mode '${name}' is not supported (nearest, linear, cubic)`);
  const padding = n.attrs.string('padding_mode', 'zeros');
  if (!['zeros', 'border', 'reflection'].includes(padding)) n.unsupported(`padding_mode '${padding}' is not supported (zeros, border, reflection)`);
  for (const v of [x, grid]) if (typeOf(v).dtype !== 'f32') n.unsupported(`takes float (f32) X and grid, got ${typeOf(v).dtype}`);
  const rank = typeOf(x).shape.length;
  if (rank !== 4 && rank !== 5) n.unsupported(`takes 4-D or 5-D X (2-D or 3-D sampling), got rank ${rank}`);
  return n.b.op('grid_sample', [x, grid], { mode, padding_mode: padding, align_corners: n.attrs.int('align_corners', 0) !== 0 });
});
