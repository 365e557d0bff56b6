import type { Node } from '../../../ir/graph.js';
import type { TensorData } from '../../../ir/tensor-data.js';
import { allocTyped, numel, type TensorType } from '../../../ir/types.js';

/** A reference kernel: computes a node's outputs from host inputs. */
export type CpuKernel = (node: Node, inputs: readonly TensorData[]) => TensorData[];

/** Zeroed host storage for a value of type `t`. */
export function alloc(t: TensorType): TensorData {
  return { dtype: t.dtype, shape: [...t.shape], data: allocTyped(t.dtype, numel(t.shape)) };
}
