// The ONNX frontend: ONNX protobuf -> kiln Graph.
export { importOnnx, importModel, importModelWithLayout, MIN_OPSET, MAX_OPSET, type OnnxImport, type OnnxImportOptions } from './import.js';
export { importOnnxFile, importOnnxFileWithLayout, externalDataFromDir } from './file.js';
export { importModelForFeeds, importOnnxFileForFeeds, type Feeds, type FeedsImport } from './feeds.js';
export type { ItemShapes } from './container-io.js';
export { InputValuesNeededError, type InputValue, type InputValues, type InputValueNeed } from './input-values.js';
export { decodeModel, decodeTensor, decodeValue, onnxRoot, type TestValueProto } from './proto.js';
export { readTensor, UnsupportedOnnxError, type ConstTensor, type ExternalDataReader } from './tensor.js';
export { supportedOnnxOps } from './node.js';
export type { InputShapes } from './inputs.js';
