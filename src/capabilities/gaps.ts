// Why an op lacks a capability. The capability test fails on any gap not listed here, and on
// any entry here whose gap has closed, so the table stays the truth. A reason is either why the
// gap is right, or a known TODO naming the issue that owns it.
import type { Capability } from './matrix.js';
import { NON_DIFFERENTIABLE } from '../passes/autodiff/non-differentiable.js';

type Gaps = Readonly<Record<string, string>>;

/** The same reason for several ops. */
const each = (ops: readonly string[], reason: string): Gaps => Object.fromEntries(ops.map((op) => [op, reason]));

const GPU_TODO = 'TODO (issue 14): no WebGPU kernel yet, so placement runs it on the CPU with explicit transfers; new kernels follow the codegen redesign (issue 13)';
const PLACEMENT = 'made by device placement after the model is built (a copy between devices)';
const FUSION = 'made by the fuse pass after the model is built, from ops that have this capability';
const BACKWARD = 'made by autodiff as part of a gradient';
const QUANTIZED = 'made by the quantize-weights pass (--weights int8) from a constant weight, after the model is built';
const BLOCK_QUANTIZED = "made by the ONNX importer for ONNX Runtime's MatMulNBits (its blockwise-quantized weight, kept in its bits)";
const BLOCK_GATHER = "made by the ONNX importer for ONNX Runtime's GatherBlockQuantized (a blockwise-quantized table, kept in its bits)";
const DATA_DEPENDENT = 'its result extent depends on the data (a size bound when it runs)';
const STRINGS = 'computes on string tensors, which only the host holds: placement runs it on the CPU';
const APPLY_ONLY = 'no named method; reachable through the generic apply(op, inputs, attrs)';
const RUN_TIME_CONTROL = 'control flow decided at run time (a loop, or an if whose branches differ in extents)';

export const EXPLAINED_GAPS: Readonly<Record<Capability, Gaps>> = {
  cpu: {},
  gpu: {
    const: 'a weight or constant: uploaded once when the program loads, it needs no kernel',
    transfer: 'a copy between devices, done by the runtime (buffer upload or readback), not by a kernel',
    ...each(['linear_attention'], GPU_TODO),
    tfidf_vectorizer: `${GPU_TODO}; n-gram lookups in a table of the pool`,
    tree_ensemble: `${GPU_TODO}; each row walks its trees independently, a branchy but data-parallel kernel`,
    label_encoder: 'its keys and values are often strings, which only the host holds; a numeric table lookup could be a GPU kernel',
    det: `${GPU_TODO}; an LU factorisation per matrix, sequential and small`,
    ...each(['string_concat', 'regex_full_match', 'string_split', 'string_normalizer'], STRINGS),
    ...each(['nonzero', 'unique', 'non_max_suppression'], `${DATA_DEPENDENT}, and sequential (a compaction, a sort, a greedy selection): placement runs it on the CPU with explicit transfers`),
    ...each(['loop', 'if'], `${RUN_TIME_CONTROL}: the CPU executor runs its subgraphs, and placement runs it on the CPU with explicit transfers (an If whose branches agree in types imports as where, on the GPU)`),
  },
  // autodiff's own table of ops without a rule on purpose, each with its reason.
  grad: NON_DIFFERENTIABLE,
  onnx: {
    transfer: PLACEMENT,
    fused: FUSION,
    dequantize_int8: QUANTIZED,
    dequantize_blocks: `${BLOCK_QUANTIZED}, a com.microsoft op the ONNX suite has no case of (test/runtime/blockwise-weights.test.ts imports it)`,
    gather_blocks: `${BLOCK_GATHER}, a com.microsoft op the ONNX suite has no case of (test/runtime/blockwise-weights.test.ts imports it)`,
    ...each(['conv2d_backward_weight', 'max_pool2d_backward'], 'made by autodiff; ONNX graphs carry no gradients'),
    rsqrt: 'ONNX has no Rsqrt (its models write Reciprocal of Sqrt, imported as div and sqrt); Tensor.rsqrt makes it',
    log1p: 'ONNX has no Log1p (its models write Log of Add); Tensor.log1p makes it',
    expm1: 'ONNX has no Expm1 (its models write Sub of Exp); Tensor.expm1 makes it',
    channel_shuffle: 'ONNX has no ChannelShuffle (its models write Reshape, Transpose, Reshape); functional.channelShuffle makes it',
    embedding: "ONNX's Gather imports as gather; functional.embedding makes this op",
    adaptive_avg_pool2d: 'ONNX has no adaptive pooling (exporters write AveragePool with fixed windows); functional.adaptiveAvgPool2d makes it',
    ...each(['loop', 'if'], `${RUN_TIME_CONTROL}: the suite's single-node If and Loop models import as where or unrolled; models whose control flow depends on their inputs make it (test/frontend/onnx/run-time-control-flow.test.ts)`),
  },
  frontend: {
    transfer: PLACEMENT,
    fused: FUSION,
    dequantize_int8: QUANTIZED,
    dequantize_blocks: BLOCK_QUANTIZED,
    gather_blocks: BLOCK_GATHER,
    ...each(['conv2d_backward_weight', 'max_pool2d_backward'], BACKWARD),
    ...each(['string_concat', 'regex_full_match', 'string_split', 'string_normalizer'], 'traced tensors hold numbers; ONNX models with string tensors make it'),
    ...each(['tree_ensemble', 'label_encoder'], 'classical machine-learning ops of ONNX\'s ai.onnx.ml domain; ONNX models make them'),
    ...each(['nonzero', 'unique', 'non_max_suppression'], `${DATA_DEPENDENT}, where traced tensors have extents known when traced; ONNX models make it`),
    ...each(['loop', 'if'], `${RUN_TIME_CONTROL}: a traced module's JavaScript control flow runs when it is traced; ONNX models make it`),
    flatten: 'Tensor.flatten traces to reshape (the same elements), as PyTorch does',
    gemm: 'nn.Linear traces to matmul and add, which fuse into one kernel; gemm comes from ONNX',
    global_avg_pool: 'functional.adaptiveAvgPool2d with output size 1 covers it; global_avg_pool comes from ONNX',
    ...each([
      'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh',
      'mod', 'fmod', 'bitwise_and', 'bitwise_or', 'bitwise_xor', 'bitwise_not', 'shift_left', 'shift_right',
      'logical_and', 'logical_or', 'logical_not', 'bitcast',
      'scatter_elements', 'gather_nd', 'scatter_nd',
      'det', 'linear_attention', 'roi_align', 'deform_conv2d', 'max_pool2d_indices',
      'tfidf_vectorizer',
    ], APPLY_ONLY),
  },
};
