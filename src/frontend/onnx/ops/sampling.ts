// GridSample and RoiAlign (data-dependent gathers: kiln's grid_sample and roi_align ops, CPU
// ops) and AffineGrid (a matmul of the transforms with a constant grid of normalised coordinates).
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';
import { makeConst } from '../tensor.js';
import { castTo, reshapeTo } from './helpers.js';

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

/** Normalised coordinates of `extent` samples along one axis: pixel centres, or corners. */
function axisCoordinates(extent: number, alignCorners: boolean): number[] {
  return Array.from({ length: extent }, (_, i) => (alignCorners ? (extent === 1 ? -1 : -1 + (2 * i) / (extent - 1)) : (2 * i + 1) / extent - 1));
}

// AffineGrid: theta [N, r, r + 1] maps each output point's homogeneous coordinates (x, y(, z), 1)
// to the grid [N, (D,) H, W, r] that GridSample reads.
defineOnnxOp('AffineGrid', (n) => {
  const theta = n.input(0);
  const size = n.values(1, 'size');
  const spatial = size.slice(2);
  const r = spatial.length;
  const t = typeOf(theta).shape;
  if ((r !== 2 && r !== 3) || t.length !== 3 || t[1] !== r || t[2] !== r + 1 || t[0] !== size[0]) {
    n.fail(`needs theta [N, 2, 3] with size [N, C, H, W], or theta [N, 3, 4] with size [N, C, D, H, W]; got theta [${t.join(',')}] and size [${size.join(',')}]`);
  }
  if (typeOf(theta).dtype !== 'f32') n.unsupported(`takes float (f32) theta, got ${typeOf(theta).dtype}`);
  const align = n.attrs.int('align_corners', 0) !== 0;
  const coords = spatial.map((extent) => axisCoordinates(extent, align));
  const points = spatial.reduce((p, d) => p * d, 1);
  // Row k: (x, y(, z), 1) of output point k, x varying fastest (the innermost axis).
  const base = Array.from({ length: points }, (_, k) => {
    const index = spatial.map((_, a) => Math.floor(k / spatial.slice(a + 1).reduce((p, d) => p * d, 1)) % spatial[a]!);
    return [...index.map((i, a) => coords[a]![i]!).reverse(), 1];
  }).flat();
  const grid = makeConst('affine_grid_base', 'f32', [1, points, r + 1], base);
  const product = n.b.op('matmul', [grid, n.b.op('transpose', [theta], { perm: [0, 2, 1] })]);
  return reshapeTo(n.b, product, [size[0]!, ...spatial, r]);
});

// RoiAlign: coordinate_transformation_mode came in opset 16 (default half_pixel); opset 10
// behaves as output_half_pixel.
defineOnnxOp('RoiAlign', (n) => {
  const [x, rois, batch] = [n.input(0), n.input(1), n.input(2)];
  for (const v of [x, rois]) if (typeOf(v).dtype !== 'f32') n.unsupported(`takes float (f32) X and rois, got ${typeOf(v).dtype}`);
  const coordinates = n.attrs.string('coordinate_transformation_mode', n.opset < 16 ? 'output_half_pixel' : 'half_pixel');
  if (coordinates !== 'half_pixel' && coordinates !== 'output_half_pixel') n.unsupported(`coordinate_transformation_mode '${coordinates}' is not supported (half_pixel, output_half_pixel)`);
  const mode = n.attrs.string('mode', 'avg');
  if (mode !== 'avg' && mode !== 'max') n.unsupported(`mode '${mode}' is not supported (avg, max)`);
  return n.b.op('roi_align', [x, rois, castTo(n.b, batch, 'i32')], {
    mode, output_height: n.attrs.int('output_height', 1), output_width: n.attrs.int('output_width', 1),
    sampling_ratio: n.attrs.int('sampling_ratio', 0), spatial_scale: n.attrs.float('spatial_scale', 1),
    half_pixel: coordinates === 'half_pixel',
  });
});
