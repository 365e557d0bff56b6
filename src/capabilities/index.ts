// The op capability matrix (see matrix.ts); docs/ops.md is its printed form.
export { CAPABILITIES, capabilityMatrix, has, type Capability, type OpCapabilities } from './matrix.js';
export { onnxProducers } from './onnx-producers.js';
export { EXPLAINED_GAPS } from './gaps.js';
export { gapProblems, matrixText, opsMarkdown } from './report.js';
