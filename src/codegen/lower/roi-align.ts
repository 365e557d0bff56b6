import { attrsOf } from '../../ir/attrs.js';
import { roiAlignAttrs } from '../../ir/ops/roi-align.js';
import { dimsOf } from '../../ir/types.js';
import { emitRoiAlign } from '../kernels/roi-align.js';
import type { Lowering } from './lowering.js';

/** roi_align: one kernel over the output, an invocation per (box, channel, bin). */
const roiAlign: Lowering = (node) => {
  const [x, rois] = node.inputs.map((v) => v.type);
  const a = attrsOf(node, roiAlignAttrs);
  return emitRoiAlign({
    name: node.op, x: dimsOf(x!), rois: dimsOf(rois!)[0]!, mode: a.mode as 'avg' | 'max',
    outputHeight: a.output_height, outputWidth: a.output_width, samplingRatio: a.sampling_ratio, spatialScale: a.spatial_scale, halfPixel: a.half_pixel,
    sources: { x: 0, rois: 1, batch: 2, out: 3 },
  });
};

export const roiAlignLowerings: Record<string, Lowering> = { roi_align: roiAlign };
