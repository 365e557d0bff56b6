import { attrsOf } from '../../ir/attrs.js';
import { dequantizeBlocksAttrs, dequantizeInt8Attrs } from '../../ir/ops/quantize.js';
import { channelLayout } from '../../ir/quantize-int8.js';
import { dimsOf, numel } from '../../ir/types.js';
import { dMul, dNumel } from '../../ir/size-expr.js';
import { clampedIndex } from '../kernels/gather.js';
import { KernelModule } from '../kernel-module.js';
import { wgslType } from '../wgsl.js';
import { declareWeight, type WeightStorage } from '../kernels/weight-load.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import type { Node } from '../../ir/graph.js';
import type { Lowering } from './lowering.js';

const WG = 256;

/** A standalone dequantize kernel: the float weight of `shape`, written out once by the same load the kernels use. */
function dequantizeKernel(node: Node, name: string, shape: readonly number[], stored: WeightStorage): EmittedKernel {
  const n = numel(shape);
  const m = new KernelModule();
  m.uniforms.scalar('n', n);
  const w = declareWeight(m, 'w', node.inputs[1]!.type.dtype, 0, stored);
  const out = node.output.type.dtype;
  m.write('out', out, node.inputs.length);
  return m.flat(name, WG, 'u.n', n, [`  out[i] = ${wgslType(out)}(${w.at('i')});`]);
}

/** A dequantize_int8 no kernel reads its weight through (fusion leaves one alone only where its reader cannot). */
const dequantizeInt8: Lowering = (node) => {
  const scales = node.inputs[1]!.type.dtype;
  const { shape, axis } = attrsOf(node, dequantizeInt8Attrs);
  return dequantizeKernel(node, 'dequantize_int8', shape, { scales: 1, scalesDType: scales, ...channelLayout(shape, axis) });
};

/** A dequantize_blocks no kernel reads its weight through. */
const dequantizeBlocks: Lowering = (node) => {
  const [, scales, zeros] = node.inputs;
  const { shape, bits, block } = attrsOf(node, dequantizeBlocksAttrs);
  return dequantizeKernel(node, 'dequantize_blocks', shape, { bits, block, columns: shape[1]!, scales: 1, scalesDType: scales!.type.dtype, ...(zeros ? { zeros: { source: 2, dtype: zeros.type.dtype } } : {}) });
};

/**
 * gather_blocks: an output element a thread, dequantized from the table's codes as the kernels'
 * weight load does; its rows picked as gather picks them (negative from the end, then clamped).
 */
const gatherBlocks: Lowering = (node) => {
  const [indices, , scales, zeros] = node.inputs;
  const { shape, bits, block } = attrsOf(node, dequantizeBlocksAttrs);
  const [rows, width] = shape as [number, number];
  const count = dNumel(dimsOf(indices!.type));
  const n = dMul(count, width);
  const m = new KernelModule();
  m.uniforms.scalar('n', n).scalar('extent', rows).scalar('width', width);
  m.read('indices', 'i32', 0);
  const stored = { bits, block, columns: width, axis: 1 as const, scales: 2, scalesDType: scales!.type.dtype, ...(zeros ? { zeros: { source: 3, dtype: zeros.type.dtype } } : {}) };
  const table = declareWeight(m, 'table', scales!.type.dtype, 1, stored);
  const out = node.output.type.dtype;
  m.write('out', out, node.inputs.length);
  return m.flat('gather_blocks', WG, 'u.n', n, [
    ...clampedIndex('indices[i / u.width]', 'row'),
    `  out[i] = ${wgslType(out)}(${table.at('row * u.width + i % u.width')});`,
  ]);
};

export const quantizeLowerings: Record<string, Lowering> = { dequantize_int8: dequantizeInt8, dequantize_blocks: dequantizeBlocks, gather_blocks: gatherBlocks };
