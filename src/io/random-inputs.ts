import type { Graph } from '../ir/graph.js';
import { KilnError } from '../ir/errors.js';
import { tensorData, type TensorData } from '../ir/tensor-data.js';
import { numel, type DType, type Shape } from '../ir/types.js';
import { f16BitsToF32, toF16Array } from '../ir/f16.js';
import { Random } from '../frontend/torch/random.js';

/** Seeded random values for every graph input: normal floats, small integers, coin-flip bools, strings of a digit. */
export function randomInputs(graph: Graph, seed: number): Record<string, TensorData> {
  return randomTensors(graph.inputs.map((v) => ({ name: v.name, dtype: v.type.dtype, shape: v.type.shape })), seed);
}

/**
 * randomInputs for named tensor specs (e.g. an artifact's inputs); the same specs in the same
 * order and seed give the same values as randomInputs on the graph they came from.
 */
export function randomTensors(specs: readonly { name: string; dtype: DType; shape: Shape }[], seed: number): Record<string, TensorData> {
  const rng = new Random(seed);
  const out: Record<string, TensorData> = {};
  for (const { name, dtype, shape } of specs) {
    const n = numel(shape);
    const values = Array.from({ length: n }, () =>
      dtype === 'f32' || dtype === 'f16' ? rng.normal() : dtype === 'bool' ? (rng.next() < 0.5 ? 1 : 0) : Math.floor(rng.uniform(0, 10)));
    out[name] = tensorData(dtype, shape, dtype === 'f16' ? toF16Array(values) : dtype === 'string' ? values.map(String) : values);
  }
  return out;
}

/** A tensor's elements as numbers (f16 decoded from its bits). */
export function numbers(t: TensorData): number[] {
  if (t.dtype === 'string') throw new KilnError('string tensors have no numeric values');
  return t.dtype === 'f16' ? Array.from(t.data, f16BitsToF32) : Array.from(t.data as ArrayLike<number>);
}
