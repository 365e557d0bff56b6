import type { Graph, Value } from '../../ir/graph.js';
import type { TensorData } from '../../ir/tensor-data.js';
import type { DType, Shape } from '../../ir/types.js';
import type { GpuDevice } from '../../runtime/device.js';
import type { GpuStorage } from './storage.js';
import type { Tensor } from './tensor-core.js';

// What a tensor of the PyTorch-like API holds, by kind (tensor-core.ts works on it).

/** Where a concrete tensor lives, or where the tensor a symbolic one stands for lives. */
export type Place = { readonly device: 'cpu' } | { readonly device: 'webgpu'; readonly gpu: GpuDevice };

export const CPU: Place = { device: 'cpu' };

export type Impl =
  | { readonly kind: 'host'; readonly data: TensorData }
  | { readonly kind: 'gpu'; readonly storage: GpuStorage; readonly dtype: DType; readonly shape: Shape }
  | { readonly kind: 'symbolic'; readonly graph: Graph; readonly value: Value; readonly place: Place }
  | { readonly kind: 'disposed'; readonly dtype: DType; readonly shape: Shape; readonly place: Place }
  | Pending;

/**
 * A tensor on a WebGPU device that is still being acquired (its first use), or whose values are
 * still on their way (a non-blocking move from another device, an op on such a tensor): `make`
 * computes it once the device is there and `arrived()` says the values are (an upload of `host`,
 * a deferred op); `until` resolves when they have. Awaiting anything on it waits for both; an op
 * on it is deferred the same way.
 */
export type Pending = {
  readonly kind: 'pending'; readonly dtype: DType; readonly shape: Shape; readonly index: number;
  readonly host?: TensorData; readonly make: (gpu: GpuDevice) => Tensor;
} & Partial<Arrival>;

/** What a pending tensor waits for besides its device. */
export interface Arrival {
  readonly until: Promise<unknown>;
  readonly arrived: () => boolean;
}
