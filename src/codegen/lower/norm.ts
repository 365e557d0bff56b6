import { layerNormAttrs, layerNormStart } from '../../ir/ops/norm.js';
import { attrsOf } from '../../ir/attrs.js';
import { dimsOf } from '../../ir/types.js';
import { dNumel } from '../../ir/size-expr.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { emitLayerNorm } from '../kernels/norm.js';
import { anchorKernelName, plainLowerings, type Anchor } from './lowering.js';
import { rowVariant } from './row-variant.js';

/**
 * layer_norm: one kernel over contiguous rows of the normalised dimensions. It computes in f32,
 * so it reads x converted as it loads (an f16 x being widened), and takes an elementwise epilogue.
 */
export const normAnchors: Record<string, Anchor> = {
  layer_norm: {
    roles: { reads: (_, i) => (i === 0 ? ['convert'] : []), epilogue: () => ['elementwise'] },
    lower: (node, io, ctx) => {
      const [x, weight, bias] = node.inputs.map((v) => v.type);
      const [xRead, wRead, bRead] = io.operands;
      const { axis, epsilon } = attrsOf(node, layerNormAttrs);
      const xDims = dimsOf(x!);
      const start = layerNormStart(xDims.length, axis);
      const normShape = xDims.slice(start);
      return emitLayerNorm({
        ...(io.epilogue ? { epilogue: io.epilogue } : {}),
        name: anchorKernelName('layer_norm', io), dtype: node.output.type.dtype, rows: dNumel(xDims.slice(0, start)), normShape,
        variant: rowVariant(ctx, 'layer_norm', 'layer_norm', x!.dtype, dNumel(xDims.slice(0, start)), dNumel(normShape)),
        sources: { x: xRead!.source, ...(wRead ? { w: wRead.source } : {}), ...(bRead ? { b: bRead.source } : {}), out: io.out },
        epsilon,
        ...(xRead!.dtype !== node.output.type.dtype ? { xDType: xRead!.dtype } : {}),
        ...((weight ?? bias) ? { paramDType: (weight ?? bias)!.dtype } : {}),
        ...(weight ? { weightStrides: broadcastStrides(dimsOf(weight), normShape) } : {}),
        ...(bias ? { biasStrides: broadcastStrides(dimsOf(bias), normShape) } : {}),
      });
    },
  },
};

// batch_norm is elementwise: the generic elementwise lowering reads its channel strides from the registry.
export const normLowerings = plainLowerings(normAnchors);
