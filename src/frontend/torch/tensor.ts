// The tensor of the PyTorch-like API, assembled: the class (tensor-core.ts) with each family of
// its methods added, and the functions that make tensors. Import Tensor from here, so that its
// methods are always there.
export { Tensor } from './tensor-core.js';
export type { ToOptions } from './to-args.js';
import './tensor-math.js';
import './tensor-shape.js';
import './tensor-reduce.js';
import './tensor-trace.js';
import './tensor-mask.js';
import './tensor-select.js';
import './tensor-more.js';
export { where } from './tensor-math.js';
export { cat, stack } from './tensor-shape.js';
export type { DimArg, ReduceOptions } from './tensor-reduce.js';
export type { ValuesIndices, VarOptions } from './tensor-select.js';
export { bindTraceValue } from './tensor-trace.js';
export { apply, applyMulti, autocastArgs, scalarLike, tracing } from './tensor-apply.js';
export { tensor, fromArray, randn, rand, full, zeros, ones, arange, linspace, eye, fullLike, zerosLike, onesLike, randint, randperm, type TensorOptions } from './tensor-creation.js';
