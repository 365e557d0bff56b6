import { getOp } from '../../ir/ops/index.js';
import { attrsOf } from '../../ir/attrs.js';
import { adaptivePool2dAttrs, avgPool2dAttrs, poolGeometry } from '../../ir/ops/pool.js';
import { dimsOf } from '../../ir/types.js';
import { dMul, dNumel } from '../../ir/size-expr.js';
import type { Node } from '../../ir/graph.js';
import { emitAdaptiveAvgPool, emitMaxPoolIndices, emitWindowPool, poolKernelGeometry, type WindowPoolSpec } from '../kernels/pool.js';
import { maxPoolIndicesAttrs } from '../../ir/ops/pool-indices.js';
import { emitMaxPoolRows, maxPoolRowsApplies } from '../kernels/pool-rows.js';
import { emitReduce } from '../kernels/reduce.js';
import type { Lowering } from './lowering.js';

// Every pool binds its input x and its output.
const sources = { x: 0, out: 1 };

/** A windowed pool's geometry, its extents from the node's dims. */
const geometry = (node: Node) => poolKernelGeometry(poolGeometry(node.inputs[0]!.type.shape, node.attrs), dimsOf(node.inputs[0]!.type), dimsOf(node.output.type));

/** max_pool2d: four outputs of a row an invocation where rows are a multiple of 4 long (pool-rows.ts). */
const maxPool2d: Lowering = (node) => {
  const spec: WindowPoolSpec = { name: node.op, dtype: node.output.type.dtype, sources, mode: 'max', geometry: geometry(node) };
  return maxPoolRowsApplies(spec) ? emitMaxPoolRows(spec) : emitWindowPool(spec);
};

const avgPool2d: Lowering = (node) => emitWindowPool({
  name: node.op, dtype: node.output.type.dtype, sources, mode: 'avg', geometry: geometry(node),
  countIncludePad: attrsOf(node, avgPool2dAttrs).count_include_pad,
});

/** A mean over each contiguous [N*C] plane: the reduction kernel with `mean`'s math. */
const globalAvgPool: Lowering = (node) => {
  const x = dimsOf(node.inputs[0]!.type);
  const plane = dNumel(x.slice(2));
  return emitReduce({
    name: node.op, dtype: node.output.type.dtype, math: getOp('mean').spec.reduce!, sources,
    keptShape: [dMul(x[0]!, x[1]!)], keptStrides: [plane], reducedShape: [plane], reducedStrides: [1],
  });
};

const adaptiveAvgPool2d: Lowering = (node) => {
  const [oh, ow] = attrsOf(node, adaptivePool2dAttrs).output_size as [number, number];
  return emitAdaptiveAvgPool(node.op, node.output.type.dtype, node.inputs[0]!.type.shape, oh, ow, sources);
};

/** ONNX MaxPool's Indices: the window pool's loop keeping where its maximum is. */
const maxPool2dIndices: Lowering = (node) => emitMaxPoolIndices(node.op, node.inputs[0]!.type.dtype, sources, geometry(node), attrsOf(node, maxPoolIndicesAttrs).column_major);

export const poolLowerings: Record<string, Lowering> = {
  max_pool2d: maxPool2d,
  max_pool2d_indices: maxPool2dIndices,
  avg_pool2d: avgPool2d,
  global_avg_pool: globalAvgPool,
  adaptive_avg_pool2d: adaptiveAvgPool2d,
};
