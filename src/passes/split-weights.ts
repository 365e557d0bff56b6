import { attrsOf } from '../ir/attrs.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { conv2dAttrs } from '../ir/ops/conv.js';
import { gemmAttrs } from '../ir/ops/gemm.js';
import { constAttrs } from '../ir/ops/source.js';
import { tensorData, type TensorData } from '../ir/tensor-data.js';
import { gatherAttrs } from '../ir/ops/gather.js';
import { numel, type DType, type Device } from '../ir/types.js';
import type { Pass, PassContext } from './pass.js';
import { rebuild, type GraphRebuilder } from './rebuild.js';

// A weight larger than one storage binding cannot be bound by any kernel (WebGPU's default
// maxStorageBufferBindingSize is 128 MiB; a VGG-style 25088x4096 f32 fully connected layer is
// 411 MB). Its op is rewritten as several ops of the same kind, each on a block of the weight's
// rows: rows are its leading dimension, contiguous in memory, so every block is a view of the
// same data (no host copy). Where the rows are output features the partial results are
// concatenated; where they are the reduced dimension (K of a product) they are summed, as are
// the parts of a gather table (each gathers its own rows, zeros for the rest). The parts are
// ordinary IR ops, so fusion and codegen treat them like any other.

/** WebGPU's default maxStorageBufferBindingSize, which browsers grant unless asked for more. */
export const DEFAULT_MAX_STORAGE_BINDING_BYTES = 128 * 2 ** 20;

/** How one op splits along its weight's rows. */
interface WeightSplit {
  /** The const node holding the weight (rank >= 2; its leading dimension is split). */
  readonly weight: Node;
  /** 'output': rows are output features, parts are concatenated along `axis`; 'reduced': parts are summed. */
  readonly rows: 'output' | 'reduced';
  readonly axis?: number;
  /** The op on rows [r0, r1) of the weight, `w` being that block (a new-graph value). */
  part(b: GraphRebuilder, r0: number, r1: number, w: Value, first: boolean): Value;
}

const constWithData = (v: Value | undefined): Node | undefined =>
  v?.producer?.op === 'const' && attrsOf(v.producer, constAttrs).value ? v.producer : undefined;

/** `x` restricted to [r0, r1) along `axis`. */
function sliced(b: GraphRebuilder, x: Value, axis: number, r0: number, r1: number): Value {
  return b.add('slice', [x], { starts: [r0], ends: [r1], axes: [axis] }, x.type.device).output;
}

/** A bias-like operand restricted to [r0, r1) of its last axis, kept whole when it broadcasts there. */
function slicedLast(b: GraphRebuilder, v: Value, n: number, r0: number, r1: number): Value {
  const last = v.type.shape.length - 1;
  return last >= 0 && v.type.shape[last] === n && n !== 1 ? sliced(b, v, last, r0, r1) : v;
}

/** matmul(x, W[K,N]) splits over K (partial products summed); matmul(x, transpose(W[N,K])) over N. */
function splitMatmul(node: Node): WeightSplit | undefined {
  const [x, w] = node.inputs as [Value, Value];
  const dev = node.output.type.device;
  const plain = constWithData(w);
  if (plain && w.type.shape.length === 2) {
    const kAxis = x.type.shape.length - 1;
    return {
      weight: plain, rows: 'reduced',
      part: (b, r0, r1, wi) => b.add('matmul', [sliced(b, b.get(x), kAxis, r0, r1), wi], {}, dev).output,
    };
  }
  const t = w.producer;
  const base = constWithData(t?.inputs[0]);
  const perm = t?.attrs.perm as readonly number[] | undefined;
  if (t?.op === 'transpose' && base && t.inputs[0]!.type.shape.length === 2 && perm?.[0] === 1 && perm[1] === 0) {
    return {
      weight: base, rows: 'output', axis: node.output.type.shape.length - 1,
      part: (b, _, __, wi) => {
        const wt = b.add('transpose', [wi], { perm: [1, 0] }, dev).output;
        return b.add('matmul', [b.get(x), wt], {}, dev).output;
      },
    };
  }
  return undefined;
}

/** gemm with trans_b splits over N (C sliced with it); without, over K (C added by the first part). */
function splitGemm(node: Node): WeightSplit | undefined {
  const [a, w, c] = node.inputs as [Value, Value, Value | undefined];
  const weight = constWithData(w);
  if (!weight) return undefined;
  const { trans_a: transA, trans_b: transB } = attrsOf(node, gemmAttrs);
  const dev = node.output.type.device;
  const n = node.output.type.shape[1]!;
  if (transB) {
    return {
      weight, rows: 'output', axis: 1,
      part: (b, r0, r1, wi) => {
        const cIn = c ? [slicedLast(b, b.get(c), n, r0, r1)] : [];
        return b.add('gemm', [b.get(a), wi, ...cIn], node.attrs, dev).output;
      },
    };
  }
  return {
    weight, rows: 'reduced',
    part: (b, r0, r1, wi, first) => {
      const ai = sliced(b, b.get(a), transA ? 0 : 1, r0, r1);
      return b.add('gemm', [ai, wi, ...(c && first ? [b.get(c)] : [])], node.attrs, dev).output;
    },
  };
}

/** conv2d (one group) splits over output channels, its bias with them. */
function splitConv(node: Node): WeightSplit | undefined {
  const [x, w, bias] = node.inputs as [Value, Value, Value | undefined];
  const weight = constWithData(w);
  if (!weight || attrsOf(node, conv2dAttrs).groups !== 1) return undefined;
  const dev = node.output.type.device;
  return {
    weight, rows: 'output', axis: 1,
    part: (b, r0, r1, wi) => {
      const bi = bias ? [sliced(b, b.get(bias), 0, r0, r1)] : [];
      return b.add('conv2d', [b.get(x), wi, ...bi], node.attrs, dev).output;
    },
  };
}

/**
 * gather (axis 0) and embedding from a table [V, ...] split over V (an LLM's vocabulary): each
 * part gathers the indices in its rows and gives zeros for the rest, and the parts are summed.
 * An index is first taken as the whole gather takes it: negative from the end, clamped to the
 * table (the GPU kernel clamps).
 */
function splitGather(node: Node): WeightSplit | undefined {
  const [w, indices] = node.inputs as [Value, Value];
  const weight = constWithData(w);
  if (!weight || (node.op === 'gather' && attrsOf(node, gatherAttrs).axis !== 0)) return undefined;
  const dev = node.output.type.device;
  const rows = w.type.shape[0]!;
  const rest = w.type.shape.length - 1;
  // Made once, with the first part, and shared by the others: scalar constants, and the index
  // as the whole gather takes it.
  const scalars = new Map<string, Value>();
  const scalar = (b: GraphRebuilder, dtype: DType, value: number): Value => {
    const key = `${dtype}:${value}`;
    let v = scalars.get(key);
    if (!v) scalars.set(key, (v = b.add('const', [], { value: tensorData(dtype, [], [value]) }, dev).output));
    return v;
  };
  const op = (b: GraphRebuilder, name: string, ...ins: Value[]): Value => b.add(name, ins, {}, dev).output;
  let taken: Value | undefined;
  const takenIndex = (b: GraphRebuilder): Value => {
    if (taken) return taken;
    const i = b.get(indices);
    const wrapped = op(b, 'where', op(b, 'less', i, scalar(b, 'i32', 0)), op(b, 'add', i, scalar(b, 'i32', rows)), i);
    return (taken = op(b, 'maximum', op(b, 'minimum', wrapped, scalar(b, 'i32', rows - 1)), scalar(b, 'i32', 0)));
  };
  return {
    weight, rows: 'reduced',
    part: (b, r0, r1, wi) => {
      const at = takenIndex(b);
      const inPart = op(b, 'logical_and', op(b, 'greater_equal', at, scalar(b, 'i32', r0)), op(b, 'less', at, scalar(b, 'i32', r1)));
      const local = op(b, 'where', inPart, op(b, 'sub', at, scalar(b, 'i32', r0)), scalar(b, 'i32', 0));
      const rowsOfPart = b.add(node.op, [wi, local], node.attrs, dev).output;
      const mask = rest ? b.add('unsqueeze', [inPart], { axes: Array.from({ length: rest }, (_, k) => -1 - k) }, dev).output : inPart;
      return op(b, 'where', mask, rowsOfPart, scalar(b, w.type.dtype, 0));
    },
  };
}

/** The ops whose weight can be split, and how. */
const SPLITS: Readonly<Record<string, (node: Node) => WeightSplit | undefined>> = {
  matmul: splitMatmul,
  gemm: splitGemm,
  conv2d: splitConv,
  gather: splitGather,
  embedding: splitGather,
};

/** Bytes a value takes on the device (bool is stored as u32). */
function storedBytes(dtype: DType, n: number): number {
  return n * (dtype === 'f16' ? 2 : 4);
}

/** Row ranges of at most `limit` bytes each, balanced: [r0, r1) pairs; undefined when one row is larger. */
export function rowBlocks(rows: number, rowBytes: number, limit: number): [number, number][] | undefined {
  const fit = Math.floor(limit / rowBytes);
  if (fit < 1) return undefined;
  const count = Math.ceil(rows / fit);
  const size = Math.ceil(rows / count);
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += size) out.push([r, Math.min(rows, r + size)]);
  return out;
}

/** Rows [r0, r1) of a constant: a view of its data, no copy. */
function rowsOf(t: TensorData, r0: number, r1: number): TensorData {
  const row = numel(t.shape.slice(1));
  return { dtype: t.dtype, shape: [r1 - r0, ...t.shape.slice(1)], data: t.data.subarray(r0 * row, r1 * row) };
}

function splitNode(node: Node, split: WeightSplit, blocks: readonly [number, number][], b: GraphRebuilder): Value {
  const dev: Device = node.output.type.device;
  const value = attrsOf(split.weight, constAttrs).value!;
  const ref = split.weight.attrs.ref;
  const parts = blocks.map(([r0, r1], i) => {
    const attrs = { value: rowsOf(value, r0, r1), ...(typeof ref === 'string' ? { ref: `${ref}[${r0}:${r1}]` } : {}) };
    const wi = b.add('const', [], attrs, dev).output;
    return split.part(b, r0, r1, wi, i === 0);
  });
  const name = [node.output.name];
  if (split.rows === 'output') return b.add('concat', parts, { axis: split.axis! }, dev, name).output;
  let sum = parts[0]!;
  parts.slice(1).forEach((p, i) => { sum = b.add('add', [sum, p], {}, dev, i === parts.length - 2 ? name : undefined).output; });
  return sum;
}

/**
 * Splits matmul, gemm, conv2d, gather and embedding ops on WebGPU whose constant weight exceeds the storage binding
 * limit (ctx.maxStorageBindingBytes, default 128 MiB) into ops on row blocks of the weight.
 */
export const splitWeights: Pass = {
  name: 'split-weights',
  description: 'split ops whose constant weight exceeds one storage binding into ops on blocks of it',
  run(g: Graph, ctx: PassContext): Graph {
    const limit = ctx.maxStorageBindingBytes ?? DEFAULT_MAX_STORAGE_BINDING_BYTES;
    let changed = false;
    const out = rebuild(g, (node, b) => {
      const planner = SPLITS[node.op];
      if (!planner || node.output.type.device !== 'webgpu') return false;
      const split = planner(node);
      const w = split?.weight.output;
      if (!split || !w || storedBytes(w.type.dtype, numel(w.type.shape)) <= limit) return false;
      const [rows, ...rest] = w.type.shape as [number, ...number[]];
      const blocks = rowBlocks(rows, storedBytes(w.type.dtype, numel(rest)), limit);
      if (!blocks) {
        ctx.log?.(`split-weights: %${w.name} ${w.type.dtype}[${w.type.shape.join(',')}] has rows larger than ${limit} bytes; left whole`);
        return false;
      }
      b.replace(node.output, splitNode(node, split, blocks, b));
      ctx.log?.(`split-weights: %${node.output.name} (${node.op}) computed in ${blocks.length} parts of %${w.name} ${w.type.dtype}[${w.type.shape.join(',')}]`);
      changed = true;
      return true;
    });
    return changed ? out : g;
  },
};
