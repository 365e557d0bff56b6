// `kiln.nn`: layers and the Module base class, as in `torch.nn`.
export { Module } from './module.js';
export { Linear, ReLU, Sequential } from './layers.js';
