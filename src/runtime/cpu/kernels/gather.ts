import { KilnError } from '../../../ir/errors.js';
import { gatherAttrs, gatherLayout } from '../../../ir/ops/gather.js';
import type { TensorData } from '../../../ir/tensor-data.js';
import type { Node } from '../../../ir/graph.js';
import { alloc, type CpuKernel } from './kernel.js';
import { attrsOf } from '../../../ir/attrs.js';

/** Copies inner-sized rows picked by index along the axis; an out-of-range index is an error here (the GPU clamps). */
function gatherAlong(node: Node, data: TensorData, indices: TensorData, axis: number): TensorData[] {
  const out = alloc(node.output.type);
  const { outer, extent, inner } = gatherLayout(data.shape, indices.shape, axis);
  const n = indices.data.length;
  for (let j = 0; j < n; j++) {
    const raw = indices.data[j]!;
    const idx = raw < 0 ? raw + extent : raw;
    if (idx < 0 || idx >= extent) {
      throw new KilnError(`${node.op} -> %${node.outputs[0]!.name}: index ${raw} is out of range for an axis of extent ${extent}`);
    }
    for (let o = 0; o < outer; o++) {
      const from = (o * extent + idx) * inner;
      const to = (o * n + j) * inner;
      out.data.set(data.data.subarray(from, from + inner), to);
    }
  }
  return [out];
}

const gather: CpuKernel = (node, [data, indices]) => gatherAlong(node, data!, indices!, attrsOf(node, gatherAttrs).axis);
const embedding: CpuKernel = (node, [weight, indices]) => gatherAlong(node, weight!, indices!, 0);

export const gatherKernels: Record<string, CpuKernel> = { gather, embedding };
