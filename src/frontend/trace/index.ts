export { Tensor, tensor, fromArray, randn, rand, zeros, apply, type TensorOptions } from './tensor.js';
export { Module, type Parameter } from './module.js';
export { Linear, ReLU, Sequential } from './layers.js';
export { trace, type TraceOptions } from './trace.js';
export { Random, manualSeed } from './random.js';
