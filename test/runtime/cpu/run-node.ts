import type { Attrs } from '../../../src/ir/attrs.js';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import type { DType } from '../../../src/ir/types.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';

/** An operand of runNode: 1-D f32 unless said otherwise. */
export interface NodeInput { dtype?: DType; shape?: number[]; values: number[] | Uint16Array }

/** Runs one node on the CPU reference and returns its (first) result. */
export function runNode(op: string, inputs: NodeInput[], attrs: Attrs = {}): TensorData {
  const g = new Graph(op);
  const feeds: Record<string, TensorData> = {};
  const vs = inputs.map((x, i) => {
    const dtype = x.dtype ?? 'f32';
    const shape = x.shape ?? [x.values.length];
    feeds[`x${i}`] = tensorData(dtype, shape, x.values);
    return g.addInput(`x${i}`, { dtype, shape, device: 'cpu' });
  });
  const out = g.addNode(op, vs, attrs).output;
  g.setOutputs([out]);
  return runOnCpu(g, feeds)[out.name]!;
}
