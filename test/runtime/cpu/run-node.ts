import type { Attrs } from '../../../src/ir/attrs.js';
import { Graph } from '../../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import type { DType } from '../../../src/ir/types.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { expectRoundTrip } from '../../ir/roundtrip.js';

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

/** An operand of runNodeOutputs: its shape and values (f32 unless said otherwise). */
export interface ShapedInput { shape: number[]; values: number[]; dtype?: DType }

/** One output of runNodeOutputs as plain numbers. */
export interface ShapedOutput { shape: number[]; values: number[] }

/**
 * Runs one node on the CPU reference at its actual sizes, after checking its IR text round-trips;
 * returns every output as plain numbers. `dtype` is the operands' dtype where they give none.
 */
export function runNodeOutputs(op: string, inputs: ShapedInput[], attrs: Attrs = {}, dtype: DType = 'f32'): ShapedOutput[] {
  const g = new Graph(op);
  const vs = inputs.map((x, i) => g.addInput(`x${i}`, { dtype: x.dtype ?? dtype, shape: x.shape, device: 'cpu' }));
  const node = g.addNode(op, vs, attrs);
  g.setOutputs(node.outputs);
  expectRoundTrip(g);
  const feeds = Object.fromEntries(inputs.map((x, i) => [`x${i}`, tensorData(x.dtype ?? dtype, x.shape, x.values)]));
  const r = runOnCpu(g, feeds);
  return node.outputs.map((v) => ({ shape: [...r[v.name]!.shape], values: Array.from(r[v.name]!.data as ArrayLike<number>) }));
}
