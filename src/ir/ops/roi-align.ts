// ONNX RoiAlign: bilinear samples averaged (or maxed) over each bin of each region of interest.
// Which input elements a bin reads depends on the boxes: the WebGPU kernel
// (src/codegen/kernels/roi-align.ts) reads them per output element.
import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { defineOp } from './registry.js';

/** roi_align's attributes (ONNX's, with coordinate_transformation_mode as a flag). */
export const roiAlignAttrs = {
  mode: { kind: 'string', default: 'avg' },
  output_height: { kind: 'int', default: 1 },
  output_width: { kind: 'int', default: 1 },
  /** Samples per bin along each axis; 0 means ceil(bin size). */
  sampling_ratio: { kind: 'int', default: 0 },
  spatial_scale: { kind: 'float', default: 1 },
  /** ONNX's half_pixel mode: box corners scaled then shifted by -0.5; else output_half_pixel. */
  half_pixel: { kind: 'bool', default: true },
} as const;

/**
 * roi_align(X [N,C,H,W], rois [R,4] as (x1, y1, x2, y2), batch_indices [R] i32) ->
 * [R, C, output_height, output_width], as ONNX's reference computes it: each bin takes
 * sampling-grid points, bilinearly interpolated, and averages them (avg) or keeps the largest of
 * their weighted corner values (max, ONNX Runtime's definition).
 */
defineOp({
  name: 'roi_align', kind: 'opaque', inputs: 3,
  attrs: roiAlignAttrs,
  infer: ([x, rois, batch], attrs) => {
    const shapes = `X ${formatShapeType(x!.dtype, x!.shape)}, rois ${formatShapeType(rois!.dtype, rois!.shape)}, batch_indices ${formatShapeType(batch!.dtype, batch!.shape)}`;
    if (x!.dtype !== 'f32' || rois!.dtype !== 'f32' || batch!.dtype !== 'i32') throw new OpTypeError(`takes f32 X and rois and i32 batch_indices, got ${shapes}`);
    const r = rois!.shape[0]!;
    if (x!.shape.length !== 4 || rois!.shape.length !== 2 || rois!.shape[1] !== 4 || batch!.shape.length !== 1 || batch!.shape[0] !== r) {
      throw new OpTypeError(`needs X [N,C,H,W], rois [R,4] and batch_indices [R], got ${shapes}`);
    }
    if (attrs.mode !== 'avg' && attrs.mode !== 'max') throw new OpTypeError(`mode "${attrs.mode}" is not avg or max`);
    if (attrs.output_height < 1 || attrs.output_width < 1 || attrs.sampling_ratio < 0) {
      throw new OpTypeError(`output_height ${attrs.output_height} and output_width ${attrs.output_width} must be positive, sampling_ratio ${attrs.sampling_ratio} not negative`);
    }
    return [{ dtype: 'f32', shape: [r, x!.shape[1]!, attrs.output_height, attrs.output_width] }];
  },
});
