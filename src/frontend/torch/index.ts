export {
  Tensor, tensor, fromArray, randn, rand, zeros, ones, full, arange, linspace, eye, fullLike, zerosLike, onesLike, randint, randperm,
  cat, stack, where, apply, applyMulti,
  type TensorOptions, type ToOptions, type ReduceOptions,
} from './tensor.js';
export { einsum } from './einsum.js';
export { cdist } from './functional-vectors.js';
export { Module, Parameter, type StateDict, type LoadResult, type ModuleOutput, type AnyModule } from './module.js';
// The first layers were exported at the top level; every layer is in `nn`.
export { Linear, ReLU, Sequential } from './layers/index.js';
export { Random, manualSeed } from './random.js';
export { webgpu, type DeviceLike, type WebGpuAdapter } from './devices.js';
export type { DTypeLike } from './dtype.js';
export { encodeSafetensors, decodeSafetensors, type Safetensors } from './safetensors.js';
export { saveSafetensors, loadSafetensors } from './safetensors-file.js';
export * as functional from './functional.js';
export { noGrad, isGradEnabled, setGradEnabled } from './autograd-tape.js';
export * as optim from './optim.js';
export * as amp from './amp/index.js';
