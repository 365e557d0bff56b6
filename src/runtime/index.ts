/// <reference types="@webgpu/types" preserve="true" />
// The runtime-only entry (`kiln/runtime`): load a compiled Program and run it on WebGPU, with no
// frontend, passes or codegen loaded.
export {
  PROGRAM_VERSION, deviceBufferBytes, deviceBytesPerElement, validateProgram,
  type Program, type BufferSpec, type BufferRole, type TensorBinding, type KernelSpec, type DispatchSpec, type DispatchVariant, type SizeCondition, type StateUpdate,
} from './program.js';
export {
  acquireDevice, probeAdapter, listAdapters, GpuDevice, NoAdapterError, MissingFeatureError, DeviceLostError,
  type AcquireDeviceOptions, type AdapterInfo, type ListedAdapter, type DeviceCounters,
} from './device.js';
export { RunTimeoutError } from './run-deadline.js';
export { Session, StagedInputs } from './session.js';
export type { SessionStats, SessionOptions, SessionInputs, RunOptions, RunOutputs } from './session-options.js';
export { DeviceTensor } from './device-tensor.js';
export type { WaitStrategy } from './gpu-wait.js';
export {
  reflectKernel, bindGroupLayoutEntries, BindingMismatchError,
  type KernelReflection, type ReflectedBinding, type BindingKind,
} from './reflect.js';
// What a caller needs to build inputs and read outputs without importing the IR.
export { tensorData, type TensorData } from '../ir/tensor-data.js';
export { KilnError } from '../ir/errors.js';
export type { DType, Shape, TypedArray } from '../ir/types.js';
export { EagerRunner, type EagerStats, type EagerOutput } from './eager.js';
// Ahead-of-time artifacts: load a compiled model's folder (or its files) and run it.
export {
  InferenceSession, type InferenceSessionOptions, type ArtifactSource, type TensorInfo, type InferenceFeed, type InferenceFetches, type InferenceRunOptions,
  type OutputLocation, type PreferredOutputLocation,
} from './inference-session.js';
export type { DynamicShapes, ShapeSpec } from './shape-programs.js';
export { env, type OrtEnv } from './ort-env.js';
export { Tensor, type TensorElementType } from './tensor.js';
// (Writing artifacts is compiling: packArtifact is the main `kiln` entry's.)
export {
  loadArtifact, type ArtifactFiles, type LoadedArtifact, type LoadedVariant, type LoadedProgramVariant, type LoadedSegmentedVariant, type LoadOptions,
} from './artifact.js';
export {
  checkArtifactDevice, chooseVariant, deviceProblems, requiredLimits, requiredFeatures, LIMIT_MEANINGS,
  type ChooseOptions, type DeviceOffer,
} from './artifact-device.js';
export {
  readArtifactFiles, fetchArtifactFiles, httpArtifactReader, artifactSourceReader, type ArtifactReader, type ArtifactSourceReader,
} from './artifact-read.js';
export {
  ArtifactError, ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, READABLE_FORMAT_VERSIONS, parseManifest,
  type ArtifactManifest, type ManifestKernel, type ManifestProgram, type ManifestCompiler, type ManifestIr,
  type ManifestVariant, type ManifestProgramVariant, type ManifestSegmentedVariant, type ManifestTensor, type ManifestRequires,
  type ManifestWeights, type Precision, variantInterface,
} from './manifest.js';
// A model's sequence and optional inputs and outputs as its program's tensors (manifest.layout).
export { assembleOutputs, flattenInputs, tensorLayout, type IoEntry, type IoLayout, type IoValue } from './io-layout.js';
// A model placed on several devices (ops without a WebGPU kernel run on the CPU between segments).
export { SegmentedSession, type SegmentedProgram, type Segment } from './segmented.js';
export { SEGMENTS_VERSION, type ManifestSegments, type ManifestSegment, type ManifestConstant } from './manifest-segments.js';
export type { GraphRecord, NodeRecord, TypeRecord, AttrRecord, NumberRecord } from '../ir/graph-record.js';
export { KILN_VERSION } from './version.js';
