import { attrsOf } from '../ir/attrs.js';
import { Graph, type Node, type Value } from '../ir/graph.js';
import { fusedAttrs } from '../ir/ops/fused.js';
import { gemmAttrs } from '../ir/ops/gemm.js';
import { transposeAttrs } from '../ir/ops/movement.js';
import { constAttrs } from '../ir/ops/source.js';
import { quantizeInt8 } from '../ir/quantize-int8.js';
import { quantizeBlocks } from '../ir/quantize-blocks.js';
import { transposed2d, type TensorData } from '../ir/tensor-data.js';
import { dtypeBytes, numel } from '../ir/types.js';
import type { Pass } from './pass.js';
import { rebuild, type GraphRebuilder } from './rebuild.js';

// int8 weights (`kiln compile --weights int8`): the constant weight of a matmul, gemm or conv2d
// is stored as int8 with one scale per output channel, and the op reads
// dequantize_int8(packed, scales) instead; the op's kernel binds both and dequantizes as it
// loads (codegen/kernels/weight-load.ts), and the CPU reference computes the same dequantized
// weight, so the GPU is checked against it exactly. The artifact and the device hold a quarter
// of the weight's bytes. Accumulation stays in f32 (f16 storage under --precision f16 keeps its
// scales in f16).
//
// int4 weights (`--weights int4`): the [K, N] weights of matmul and gemm are stored instead as
// 4-bit codes in blocks of INT4_BLOCK rows of a column, each with its scale and zero point, as
// ONNX Runtime's MatMulNBits stores them (dequantize_blocks, quantize-blocks.ts): about a sixth
// of their f32 bytes. Conv weights are int8 as above.

/** A weight to quantize: its float data, the axis of its output channels, and the const it comes from. */
interface WeightPlan {
  readonly data: TensorData;
  readonly axis: number;
  /** Key for sharing one quantized copy among the readers of the same constant. */
  readonly key: string;
  /** Name of the stored weight: its packed values are `<name>.int8`, its scales `<name>.scale`. */
  readonly name: string;
}

const constData = (v: Value | undefined): TensorData | undefined =>
  v?.producer?.op === 'const' ? attrsOf(v.producer, constAttrs).value : undefined;

const isFloatData = (t: TensorData | undefined): t is TensorData => t !== undefined && (t.dtype === 'f32' || t.dtype === 'f16');

/** The key and name of a constant's quantized copy (value names are unique in a graph); a transposed copy is named `<name>.T`. */
function keyOf(n: Node, suffix: 'plain' | 'transposed'): { key: string; name: string } {
  return { key: `${n.output.name}:${suffix}`, name: suffix === 'plain' ? n.output.name : `${n.output.name}.T` };
}

/**
 * matmul's B: a constant [..., K, N] (channels N), or transpose(W[N, K]) of a 2-D constant, which
 * is stored transposed (align-weights then stores a one-row product's as [N, K]).
 */
function matmulWeight(node: Node): WeightPlan | undefined {
  const w = node.inputs[1]!;
  const plain = constData(w);
  if (isFloatData(plain) && plain.shape.length >= 2) return { data: plain, axis: plain.shape.length - 1, ...keyOf(w.producer!, 'plain') };
  const t = w.producer;
  const base = constData(t?.inputs[0]);
  const perm = t?.op === 'transpose' ? attrsOf(t, transposeAttrs).perm : undefined;
  if (isFloatData(base) && base.shape.length === 2 && perm?.[0] === 1 && perm[1] === 0) {
    return { data: transposed2d(base), axis: 1, ...keyOf(t!.inputs[0]!.producer!, 'transposed') };
  }
  return undefined;
}

/** gemm's B: [K, N], or [N, K] with trans_b; its channels are N either way. */
function gemmWeight(node: Node): WeightPlan | undefined {
  const data = constData(node.inputs[1]);
  if (!isFloatData(data) || data.shape.length !== 2) return undefined;
  return { data, axis: attrsOf(node, gemmAttrs).trans_b ? 0 : 1, ...keyOf(node.inputs[1]!.producer!, 'plain') };
}

/** conv2d's weight [O, C/groups, KH, KW]: channels O (every kernel variant, depthwise too, loads through the hook). */
function convWeight(node: Node): WeightPlan | undefined {
  const data = constData(node.inputs[1]);
  return isFloatData(data) && data.shape.length === 4 ? { data, axis: 0, ...keyOf(node.inputs[1]!.producer!, 'plain') } : undefined;
}

/** The ops whose kernels load an int8 weight, and where their weight is. */
const WEIGHTS: Readonly<Record<string, (node: Node) => WeightPlan | undefined>> = {
  matmul: matmulWeight,
  gemm: gemmWeight,
  conv2d: convWeight,
};

/** Whole-body kernels (fused nodes fusion names a kernel for) whose conv2d weights load through the weight hook. */
const INT8_BODY_KERNELS = new Set(['squeeze_excite']);

/** Why the constant weights `node` reads stay float, for nodes whose kernels load float weights only. */
function floatOnly(node: Node): string | undefined {
  if (node.op === 'conv_transpose2d') return 'conv_transpose2d';
  const kernel = node.op === 'fused' ? attrsOf(node, fusedAttrs).kernel : undefined;
  if (kernel !== undefined && !INT8_BODY_KERNELS.has(kernel)) return `${kernel} kernel`;
  return undefined;
}

/**
 * The weights of the conv2d ops inside a whole-body kernel's fused node: the fused node's operand
 * index of each, when it is a float constant.
 */
function bodyConvWeights(node: Node): Map<number, WeightPlan> {
  const { body } = attrsOf(node, fusedAttrs);
  const plans = new Map<number, WeightPlan>();
  for (const n of body.nodes) {
    const i = n.op === 'conv2d' ? body.inputs.indexOf(n.inputs[1]!) : -1;
    const data = i >= 0 ? constData(node.inputs[i]) : undefined;
    if (isFloatData(data) && data.shape.length === 4) plans.set(i, { data, axis: 0, ...keyOf(node.inputs[i]!.producer!, 'plain') });
  }
  return plans;
}

/** The body with each quantized weight parameter replaced by its packed values and scales, dequantized inside. */
function bodyWithInt8(body: Graph, plans: ReadonlyMap<number, WeightPlan>, packed: ReadonlyMap<number, { packed: Value; scales: Value }>): Graph {
  const out = new Graph(body.name);
  const map = new Map<Value, Value>();
  body.inputs.forEach((p, i) => {
    const q = packed.get(i);
    if (!q) { map.set(p, out.addInput(p.name, p.type)); return; }
    // Named after the weight they stand for: the body's names are its own.
    const qp = out.addInput(`${p.name}.int8`, q.packed.type);
    const qs = out.addInput(`${p.name}.scale`, q.scales.type);
    const plan = plans.get(i)!;
    map.set(p, out.addNode('dequantize_int8', [qp, qs], { shape: [...plan.data.shape], axis: plan.axis }, { device: p.type.device, names: [p.name] }).output);
  });
  for (const n of body.nodes) {
    const c = out.addNode(n.op, n.inputs.map((v) => map.get(v)!), n.attrs, { types: n.outputs.map((o) => o.type), names: n.outputs.map((o) => o.name), device: n.outputs[0]!.type.device });
    n.outputs.forEach((o, k) => map.set(o, c.outputs[k]!));
  }
  out.setOutputs(body.outputs.map((v) => map.get(v)!));
  return out;
}

/** What the pass did, for `kiln compile --stats` and the log. */
export interface QuantizeSummary {
  /** Weights stored as int8, and as 4-bit blocks (under int4). */
  readonly weights: number;
  readonly blockwise: number;
  readonly floatBytes: number;
  readonly storedBytes: number;
  /** Weights left float for having under `minElements` elements. */
  readonly small: number;
  readonly minElements: number;
  /** Other constant weights left float, with why. */
  readonly leftFloat: readonly string[];
}

/**
 * Weights of fewer elements stay float: they are a small share of a model's bytes but, measured
 * on the PP-OCR classifier (32 random inputs against f32 weights), a large share of int8's
 * output error. Its 18 weights under 512 elements (the first conv, the early 1x1, depthwise and
 * squeeze-excite convs, the final fully connected layer) hold 3% of its weight bytes; left
 * float, the max output error is 2.0% of the output's scale instead of 3.1%, the top class
 * changes on none of the inputs instead of 2, and the weights are 3.3x smaller than f32 instead
 * of 3.6x. (Under 1024 elements: 1.3%, but 3.0x.) Early layers have few channels of few
 * weights each, so a step of 1/127 of a channel's range is a large error that every later
 * layer carries.
 */
export const MIN_INT8_ELEMENTS = 512;

/** Rows of a column a scale and zero point cover under int4 weights (ONNX Runtime GenAI's default block). */
export const INT4_BLOCK = 32;

/**
 * The quantize-weights pass: replaces the constant weights of matmul, gemm and conv2d ops of at
 * least `minElements` elements (the pipelines' default: MIN_INT8_ELEMENTS; 0 takes every one) by
 * int8 with per-output-channel scales, or under `int4`, those of matmul and gemm by 4-bit blocks.
 */
export function quantizeWeightsOf(minElements: number, format: 'int8' | 'int4' = 'int8'): Pass {
  const what = format === 'int4' ? 'of matmul and gemm as 4-bit codes in blocks, of conv2d as int8' : 'of matmul, gemm and conv2d as int8 with per-output-channel scales';
  return {
    name: 'quantize-weights',
    description: `store the constant weights (of ${minElements} elements or more) ${what}`,
    run: (g, ctx) => quantizeGraph(g, minElements, format, ctx.log),
  };
}

/** A matmul or gemm weight as [K, N] (gemm's trans_b one transposed), for 4-bit blocks down its columns. */
function kByN(plan: WeightPlan): WeightPlan | undefined {
  if (plan.data.shape.length !== 2) return undefined;
  return plan.axis === 1 ? plan : { data: transposed2d(plan.data), axis: 1, key: `${plan.key}:T`, name: `${plan.name}.T` };
}

/** quantize-weights on `g`: weights of `minElements` or more as int8 or int4; what it did goes to `log`. */
function quantizeGraph(g: Graph, minElements: number, format: 'int8' | 'int4', log: ((message: string) => void) | undefined): Graph {
  const made = new Map<string, { packed: Value; scales: Value }>();
  const blockwise = new Map<string, Value>();
  let floatBytes = 0;
  let storedBytes = 0;
  const leftFloat: string[] = [];
  const small = new Set<string>();
  /**
   * The quantized copy `make` builds of a weight, once per weight (`cache`); undefined (said in
   * the log) for a weight under `minElements` or one that cannot be quantized (RangeError).
   */
  const once = <T>(cache: Map<string, T>, plan: WeightPlan, node: Node, weight: string, make: () => T): T | undefined => {
    if (numel(plan.data.shape) < minElements) {
      small.add(plan.key);
      return undefined;
    }
    const hit = cache.get(plan.key);
    if (hit) return hit;
    try {
      const q = make();
      cache.set(plan.key, q);
      floatBytes += numel(plan.data.shape) * dtypeBytes(plan.data.dtype);
      return q;
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      leftFloat.push(`%${weight} (${node.op}: ${e.message})`);
      return undefined;
    }
  };
  /** A constant named after the weight it stores, so artifact buffers (and `kiln inspect`) show which weights are quantized. */
  const stored = (b: GraphRebuilder, node: Node, value: TensorData, name: string): Value => {
    storedBytes += numel(value.shape) * dtypeBytes(value.dtype);
    return b.add('const', [], { value }, node.output.type.device, [name]).output;
  };
  /** The int8 copy of a weight: packed values `<weight>.int8` and scales `<weight>.scale`. */
  const tryQuantized = (b: GraphRebuilder, plan: WeightPlan, node: Node, weight: Value) => once(made, plan, node, weight.name, () => {
    const { packed, scales } = quantizeInt8(plan.data, plan.axis);
    return { packed: stored(b, node, packed, `${plan.name}.int8`), scales: stored(b, node, scales, `${plan.name}.scale`) };
  });
  /** The 4-bit copy of a [K, N] weight, dequantized by the kernels reading it (dequantize_blocks), named as MatMulNBits's imports are. */
  const blocksOf = (b: GraphRebuilder, plan: WeightPlan, node: Node) => once(blockwise, plan, node, plan.name, () => {
    const q = quantizeBlocks(plan.data, 4, INT4_BLOCK);
    const parts = (['codes', 'scales', 'zeros'] as const).map((p) => stored(b, node, q[p], `${plan.name}.${p}`));
    return b.add('dequantize_blocks', parts, { shape: [...plan.data.shape], bits: 4, block: INT4_BLOCK }, node.output.type.device).output;
  });
  const out = rebuild(g, (node, b) => {
    const floatKernel = floatOnly(node);
    if (floatKernel) {
      const weights = node.inputs.filter((v) => v.type.shape.length >= 2 && isFloatData(constData(v)));
      leftFloat.push(...weights.map((v) => `%${v.name} (${floatKernel}: loads float weights only)`));
      return false;
    }
    const kernel = node.op === 'fused' ? attrsOf(node, fusedAttrs).kernel : undefined;
    if (kernel !== undefined) {
      const plans = bodyConvWeights(node);
      const packed = new Map<number, { packed: Value; scales: Value }>();
      for (const [i, plan] of plans) {
        const q = tryQuantized(b, plan, node, node.inputs[i]!);
        if (q) packed.set(i, q);
      }
      if (!packed.size) return false;
      const inputs = node.inputs.flatMap((v, i) => { const q = packed.get(i); return q ? [q.packed, q.scales] : [b.get(v)]; });
      const body = bodyWithInt8(attrsOf(node, fusedAttrs).body, plans, packed);
      b.replace(node.output, b.add('fused', inputs, { ...node.attrs, body }, node.output.type.device, [node.output.name]).output);
      return true;
    }
    const plan = WEIGHTS[node.op]?.(node);
    const asBlocks = format === 'int4' && plan && node.op !== 'conv2d' ? kByN(plan) : undefined;
    const w4 = asBlocks && blocksOf(b, asBlocks, node);
    if (w4) {
      // gemm reads the [K, N] copy without trans_b.
      const attrs = node.op === 'gemm' ? { ...node.attrs, trans_b: false } : node.attrs;
      const inputs = [b.get(node.inputs[0]!), w4, ...node.inputs.slice(2).map((v) => b.get(v))];
      b.replace(node.output, b.add(node.op, inputs, attrs, node.output.type.device, [node.output.name]).output);
      return true;
    }
    const q = plan && tryQuantized(b, plan, node, node.inputs[1]!);
    if (!plan || !q) return false;
    const w = b.add('dequantize_int8', [q.packed, q.scales], { shape: [...plan.data.shape], axis: plan.axis }, node.output.type.device).output;
    b.copy(node, [b.get(node.inputs[0]!), w, ...node.inputs.slice(2).map((v) => b.get(v))]);
    return true;
  });
  const summary: QuantizeSummary = { weights: made.size, blockwise: blockwise.size, floatBytes, storedBytes, small: small.size, minElements, leftFloat };
  log?.(quantizeReport(summary));
  return made.size || blockwise.size ? out : g;
}

/** One line (two with weights left float) saying what int8 quantization did. */
export function quantizeReport(s: QuantizeSummary): string {
  const small = s.small ? `; ${s.small} weight(s) of under ${s.minElements} elements left float` : '';
  const stored = [s.weights || !s.blockwise ? `${s.weights} weight(s) stored as int8` : '', s.blockwise ? `${s.blockwise}${s.weights ? '' : ' weight(s) stored'} as 4-bit blocks` : ''].filter((x) => x);
  const line = `quantize-weights: ${stored.join(', ')}: ${s.floatBytes} -> ${s.storedBytes} bytes${small}`;
  return s.leftFloat.length ? `${line}\nquantize-weights: left float: ${s.leftFloat.join(', ')}` : line;
}
