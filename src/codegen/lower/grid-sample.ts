import { attrsOf } from '../../ir/attrs.js';
import { gridSampleAttrs } from '../../ir/ops/grid-sample.js';
import { dimsOf } from '../../ir/types.js';
import { emitGridSample, type GridSampleKernelSpec } from '../kernels/grid-sample.js';
import type { Lowering } from './lowering.js';

/** grid_sample: one kernel over the output, an invocation per element. */
const gridSample: Lowering = (node) => {
  const [x, grid] = node.inputs.map((v) => v.type);
  const attrs = attrsOf(node, gridSampleAttrs);
  return emitGridSample({
    name: node.op, x: dimsOf(x!), grid: dimsOf(grid!),
    mode: attrs.mode as GridSampleKernelSpec['mode'], padding: attrs.padding_mode as GridSampleKernelSpec['padding'], alignCorners: attrs.align_corners,
    sources: { x: 0, grid: 1, out: 2 },
  });
};

export const gridSampleLowerings: Record<string, Lowering> = { grid_sample: gridSample };
