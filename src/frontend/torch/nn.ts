// `kiln.nn`: layers and the Module base class, as in `torch.nn`; `kiln.nn.functional` as
// `torch.nn.functional`.
export { Module, Parameter, type StateDict, type LoadResult, type ModuleOutput, type AnyModule } from './module.js';
export * from './layers/index.js';
export * as functional from './functional.js';
export * as utils from './nn-utils.js';
export * as init from './nn-init.js';
