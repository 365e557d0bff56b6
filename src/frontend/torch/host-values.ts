import { f32ToF16Bits } from '../../ir/f16.js';
import { tensorData, type TensorData } from '../../ir/tensor-data.js';
import { numel, type DType, type Shape } from '../../ir/types.js';
import { runOnCpu } from '../../runtime/cpu/executor.js';
import { opGraph } from './eager-ops.js';

// Host tensor data as the tensor API builds and reads it: numbers in, numbers out, f16 as bits.

/** Host data of `dtype` from numbers (f16 rounded to nearest-even, stored as bits). */
export function hostTensorData(dtype: DType, shape: Shape, values: ArrayLike<number>): TensorData {
  if (dtype !== 'f16') return tensorData(dtype, shape, values);
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = f32ToF16Bits(values[i]!);
  return tensorData('f16', shape, bits);
}

/** Host data converted to `to` by the CPU cast kernel (f16 through src/ir/f16.ts, round-to-nearest-even). */
export function castOnHost(data: TensorData, to: DType): TensorData {
  const { graph, node } = opGraph('cast', [data], { to }, 'cpu');
  return runOnCpu(graph, { in0: data })[node.output.name]!;
}

/** Host values as numbers (f16 decoded, bool as booleans). */
export function hostValues(d: TensorData): (number | boolean)[] {
  if (d.dtype === 'f16') return Array.from(castOnHost(d, 'f32').data);
  return Array.from(d.data as ArrayLike<number>, (x) => (d.dtype === 'bool' ? x !== 0 : x));
}

/** Host values as nested arrays in the data's shape, like PyTorch's `tolist()`. */
export function nestedValues(d: TensorData): unknown {
  const flat = hostValues(d);
  const build = (dim: number, off: number): unknown => {
    if (dim === d.shape.length) return flat[off];
    const stride = numel(d.shape.slice(dim + 1));
    return Array.from({ length: d.shape[dim]! }, (_, i) => build(dim + 1, off + i * stride));
  };
  return build(0, 0);
}
