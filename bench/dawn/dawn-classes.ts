import { globals } from 'webgpu';

/** The dawn.node classes whose prototypes the bench wraps (the package types `globals` as Object). */
export interface DawnClasses {
  readonly GPUQueue: { readonly prototype: GPUQueue };
  readonly GPUBuffer: { readonly prototype: GPUBuffer };
  readonly GPUComputePassEncoder: { readonly prototype: GPUComputePassEncoder };
  readonly GPUMapMode: { readonly READ: number };
}

/** dawn.node's WebGPU classes (the same objects whether or not they were made globals). */
export function dawnClasses(): DawnClasses {
  return globals as DawnClasses;
}
