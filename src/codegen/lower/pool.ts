import { getOp } from '../../ir/ops/index.js';
import { poolGeometry } from '../../ir/ops/pool.js';
import { numel } from '../../ir/types.js';
import { emitAdaptiveAvgPool, emitWindowPool } from '../kernels/pool.js';
import { emitReduce } from '../kernels/reduce.js';
import type { Lowering } from './lowering.js';

// Every pool binds its input x and its output.
const sources = { x: 0, out: 1 };

const maxPool2d: Lowering = (node) => emitWindowPool({
  name: node.op, dtype: node.output.type.dtype, sources, mode: 'max', geometry: poolGeometry(node.inputs[0]!.type.shape, node.attrs),
});

const avgPool2d: Lowering = (node) => emitWindowPool({
  name: node.op, dtype: node.output.type.dtype, sources, mode: 'avg', geometry: poolGeometry(node.inputs[0]!.type.shape, node.attrs),
  countIncludePad: node.attrs.count_include_pad as boolean,
});

/** A mean over each contiguous [N*C] plane: the reduction kernel with `mean`'s math. */
const globalAvgPool: Lowering = (node) => {
  const x = node.inputs[0]!.type.shape;
  const plane = numel(x.slice(2));
  return emitReduce({
    name: node.op, dtype: node.output.type.dtype, math: getOp('mean').spec.reduce!, sources,
    keptShape: [x[0]! * x[1]!], keptStrides: [plane], reducedShape: [plane], reducedStrides: [1],
  });
};

const adaptiveAvgPool2d: Lowering = (node) => {
  const [oh, ow] = node.attrs.output_size as [number, number];
  return emitAdaptiveAvgPool(node.op, node.output.type.dtype, node.inputs[0]!.type.shape, oh, ow, sources);
};

export const poolLowerings: Record<string, Lowering> = {
  max_pool2d: maxPool2d,
  avg_pool2d: avgPool2d,
  global_avg_pool: globalAvgPool,
  adaptive_avg_pool2d: adaptiveAvgPool2d,
};
