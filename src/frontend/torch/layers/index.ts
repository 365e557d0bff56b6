// Every nn layer, one family per file.
export { Linear, Identity, CosineSimilarity } from './linear.js';
export { Conv1d, Conv2d, ConvTranspose2d, type Conv1dOptions, type Conv2dOptions } from './conv.js';
export { BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, InstanceNorm1d, InstanceNorm2d, type BatchNorm2dOptions, type LayerNormOptions } from './norm.js';
export { Embedding } from './embedding.js';
export { ReLU, GELU, SiLU, Sigmoid, Tanh, Hardswish, Hardsigmoid, LeakyReLU, Softmax, LogSoftmax, ELU, PReLU, ReLU6, Hardtanh, Softplus, Mish, LogSigmoid, Softsign, Tanhshrink, CELU, SELU, GLU } from './activation.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d } from './pool.js';
export { ConstantPad1d, ConstantPad2d, ZeroPad1d, ZeroPad2d, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d } from './padding.js';
export { Flatten, Dropout, ChannelShuffle, Upsample, PixelShuffle, Unflatten } from './shape.js';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss } from './loss.js';
export { Sequential, ModuleList } from './container.js';
export { RNN, LSTM, GRU, type RecurrentOptions } from './recurrent.js';
export { MultiheadAttention, type MultiheadAttentionOptions, type AttentionCallOptions } from './multihead-attention.js';
export {
  TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder, Transformer,
  type TransformerLayerOptions, type TransformerEncoderLayerOptions, type TransformerOptions, type EncoderCallOptions, type DecoderCallOptions, type TransformerCallOptions,
} from './transformer.js';
export { DataParallel, type DataParallelOptions, type GpuIndex } from './data-parallel.js';
