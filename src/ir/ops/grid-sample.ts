import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { defineOp } from './registry.js';

export const GRID_SAMPLE_MODES: readonly string[] = ['nearest', 'linear', 'cubic'];
export const GRID_SAMPLE_PADDINGS: readonly string[] = ['zeros', 'border', 'reflection'];

/** grid_sample's attributes. */
export const gridSampleAttrs = {
  mode: { kind: 'string', default: 'linear' },
  padding_mode: { kind: 'string', default: 'zeros' },
  align_corners: { kind: 'bool', default: false },
} as const;

/**
 * ONNX GridSample: samples X [N, C, D1..Dr] at the normalised coordinates of grid
 * [N, O1..Or, r] (last axis ordered x, y(, z): the innermost spatial axis first), giving
 * [N, C, O1..Or]. The CPU reference is src/runtime/cpu/kernels/grid-sample.ts; the WebGPU kernel
 * (src/codegen/kernels/grid-sample.ts) computes the same taps in f32.
 */
defineOp({
  name: 'grid_sample', kind: 'opaque', inputs: 2,
  attrs: gridSampleAttrs,
  infer: ([x, grid], attrs) => {
    if (x!.dtype !== 'f32' || grid!.dtype !== 'f32') throw new OpTypeError(`takes f32 X and grid, got ${x!.dtype} and ${grid!.dtype}`);
    if (!GRID_SAMPLE_MODES.includes(attrs.mode)) throw new OpTypeError(`mode "${String(attrs.mode)}" is not one of ${GRID_SAMPLE_MODES.join(', ')}`);
    if (!GRID_SAMPLE_PADDINGS.includes(attrs.padding_mode)) throw new OpTypeError(`padding_mode "${String(attrs.padding_mode)}" is not one of ${GRID_SAMPLE_PADDINGS.join(', ')}`);
    const r = x!.shape.length - 2;
    const g = grid!.shape;
    const shapes = `${formatShapeType(x!.dtype, x!.shape)} and grid ${formatShapeType(grid!.dtype, g)}`;
    if (r < 1 || g.length !== r + 2 || g[0] !== x!.shape[0] || g[r + 1] !== r) {
      throw new OpTypeError(`needs X [N, C, ...r spatial] and grid [N, ...r output, r], got X ${shapes}`);
    }
    return [{ dtype: x!.dtype, shape: [x!.shape[0]!, x!.shape[1]!, ...g.slice(1, r + 1)] }];
  },
});
