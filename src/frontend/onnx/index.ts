// The ONNX frontend: ONNX protobuf -> kiln Graph.
export { importOnnx, importModel, MIN_OPSET, MAX_OPSET, type OnnxImportOptions } from './import.js';
export { importOnnxFile, externalDataFromDir } from './file.js';
export { importModelForFeeds, importOnnxFileForFeeds, type FeedsImport } from './feeds.js';
export { InputValuesNeededError, type InputValue, type InputValues, type InputValueNeed } from './input-values.js';
export { decodeModel, decodeTensor, onnxRoot } from './proto.js';
export { readTensor, UnsupportedOnnxError, type ConstTensor, type ExternalDataReader } from './tensor.js';
export { supportedOnnxOps } from './node.js';
export type { InputShapes } from './inputs.js';
