import { layerNormAttrs, layerNormStart } from '../../../ir/ops/norm.js';
import { broadcastStrides } from '../../../ir/ops/shape-util.js';
import { forEachIndex } from '../indexing.js';
import { alloc, type CpuKernel } from './kernel.js';
import { hostValues, storeValue } from './values.js';
import { attrsOf } from '../../../ir/attrs.js';

/** layer_norm over dimensions [axis, rank): two passes in double (mean, then biased variance). */
const layerNorm: CpuKernel = (node, [x, weight, bias]) => {
  const out = alloc(node.output.type);
  const { epsilon: eps, axis } = attrsOf(node, layerNormAttrs);
  const normShape = x!.shape.slice(layerNormStart(x!.shape.length, axis));
  const cols = normShape.reduce((p, d) => p * d, 1);
  const rows = cols === 0 ? 0 : x!.data.length / cols;
  // Offsets of the weight and bias element for each position in a row.
  const paramOffsets = (p: typeof x) => {
    const offs: number[] = [];
    if (p) forEachIndex(normShape, [broadcastStrides(p.shape, normShape)], (_, [o]) => offs.push(o!));
    return offs;
  };
  const wo = paramOffsets(weight);
  const bo = paramOffsets(bias);
  const [xs, ws, bs] = [x, weight, bias].map((t) => (t ? hostValues(t) : []));
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += xs![base + j]!;
    const mean = sum / cols;
    let sq = 0;
    for (let j = 0; j < cols; j++) sq += (xs![base + j]! - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / cols + eps);
    for (let j = 0; j < cols; j++) {
      let y = (xs![base + j]! - mean) * inv;
      if (weight) y *= ws![wo[j]!]!;
      if (bias) y += bs![bo[j]!]!;
      storeValue(out, base + j, y);
    }
  }
  return [out];
};

// batch_norm is elementwise: its scalar math and channel strides live in the registry.
export const normKernels: Record<string, CpuKernel> = { layer_norm: layerNorm };
