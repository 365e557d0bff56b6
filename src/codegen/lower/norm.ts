import { layerNormStart } from '../../ir/ops/norm.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitLayerNorm } from '../kernels/norm.js';
import type { AnchorLowering, Lowering } from './lowering.js';

/** layer_norm: one kernel over contiguous rows of the normalised dimensions, optionally with an epilogue. */
const layerNorm: AnchorLowering = (node, epilogue) => {
  const [x, weight, bias] = node.inputs.map((v) => v.type);
  const normShape = x!.shape.slice(layerNormStart(x!.shape.length, node.attrs.axis as number));
  const cols = normShape.reduce((p, d) => p * d, 1);
  return emitLayerNorm({
    ...(epilogue ? { epilogue } : {}),
    name: epilogue ? `layer_norm_${epilogue.name}` : 'layer_norm', dtype: x!.dtype, rows: cols === 0 ? 0 : x!.shape.reduce((p, d) => p * d, 1) / cols, normShape,
    epsilon: node.attrs.epsilon as number,
    ...(weight && weight.dtype !== x!.dtype ? { paramDType: weight.dtype } : bias && bias.dtype !== x!.dtype ? { paramDType: bias.dtype } : {}),
    ...(weight ? { weightStrides: broadcastStrides(weight.shape, normShape) } : {}),
    ...(bias ? { biasStrides: broadcastStrides(bias.shape, normShape) } : {}),
  });
};

// batch_norm is elementwise: the generic elementwise lowering reads its channel strides from the registry.
export const normLowerings: Record<string, Lowering> = { layer_norm: (n) => layerNorm(n) };

/** layer_norm takes a fused epilogue. */
export const normAnchors: Record<string, AnchorLowering> = { layer_norm: layerNorm };
