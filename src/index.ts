/// <reference types="@webgpu/types" preserve="true" />
// The public API of kiln: `import * as kiln from 'kiln'`.
export * from './ir/index.js';
export { printGraph, graphWeights } from './ir/printer.js';
export { parseGraph, IRParseError } from './ir/parser.js';
export * from './frontend/torch/index.js';
export { trace, type TraceOptions } from './frontend/trace/trace.js';
export * as nn from './frontend/torch/nn.js';
export * from './frontend/train/index.js';
export * as data from './frontend/data/index.js';
export * as distributed from './frontend/distributed/index.js';
// The DataLoader at the top level too, where it was first exported.
export { DataLoader, type DataLoaderOptions } from './frontend/data/index.js';
export { importOnnx, importOnnxFile, importOnnxFileForFeeds, InputValuesNeededError, UnsupportedOnnxError, type OnnxImportOptions } from './frontend/onnx/index.js';
export { compile, compileForArtifact, compileSegmented } from './compiler.js';
export { kernelTarget } from './precision.js';
export { generateProgram } from './codegen/generate.js';
export { runOnCpu } from './runtime/cpu/executor.js';
export * from './runtime/index.js';
// Writing artifacts (the runtime entry only reads them).
export { packArtifact, manifestText, type PackedArtifact, type PackOptions, type VariantSource, type IrSource } from './artifact-writer/pack.js';
// `Tensor` here is the PyTorch-like tensor; the runtime's host Tensor (ONNX Runtime's) is `kiln/runtime`'s.
export { Tensor } from './frontend/torch/index.js';
