import type { Graph } from '../ir/graph.js';
import { tensorData, type TensorData } from '../ir/tensor-data.js';
import { numel } from '../ir/types.js';
import { toF16Array } from '../ir/f16.js';
import { Random } from '../frontend/trace/random.js';

/** Seeded random values for every graph input: normal floats, small integers, coin-flip bools. */
export function randomInputs(graph: Graph, seed: number): Record<string, TensorData> {
  const rng = new Random(seed);
  const out: Record<string, TensorData> = {};
  for (const v of graph.inputs) {
    const n = numel(v.type.shape);
    const { dtype } = v.type;
    const values = Array.from({ length: n }, () =>
      dtype === 'f32' || dtype === 'f16' ? rng.normal() : dtype === 'bool' ? (rng.next() < 0.5 ? 1 : 0) : Math.floor(rng.uniform(0, 10)));
    out[v.name] = tensorData(dtype, v.type.shape, dtype === 'f16' ? toF16Array(values) : values);
  }
  return out;
}

/** Largest absolute elementwise difference of two same-shaped tensors. */
export function maxAbsDiff(a: TensorData, b: TensorData): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(Number(a.data[i]) - Number(b.data[i]));
    if (d > m || Number.isNaN(d)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** One line describing a tensor's shape and values. */
export function summarize(name: string, t: TensorData): string {
  const vals = Array.from(t.data as ArrayLike<number>);
  const head = vals.slice(0, 6).map((x) => (Number.isInteger(x) ? String(x) : x.toPrecision(5))).join(', ');
  const min = vals.reduce((a, b) => Math.min(a, b), Infinity);
  const max = vals.reduce((a, b) => Math.max(a, b), -Infinity);
  const mean = vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length);
  return `${name}: ${t.dtype}[${t.shape.join(',')}] [${head}${vals.length > 6 ? ', ...' : ''}] min ${min.toPrecision(4)} max ${max.toPrecision(4)} mean ${mean.toPrecision(4)}`;
}
