import { attrsOf } from '../ir/attrs.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { dequantizeInt8Attrs } from '../ir/ops/quantize.js';
import { constAttrs } from '../ir/ops/source.js';
import { wordsOfBytes } from '../ir/quantize-blocks.js';
import { unpackInt8 } from '../ir/quantize-int8.js';
import { transposed2d, type TensorData } from '../ir/tensor-data.js';
import { allocTyped, numel, type Device } from '../ir/types.js';
import type { Pass, PassContext } from './pass.js';
import { rebuild, type GraphRebuilder } from './rebuild.js';

// A matmul's constant weight [K, N] is stored in the layout its kernel loads fastest, and read
// through a view of it (the kernels read B through views, so the view costs nothing):
// - One row (a token of a decoder, a batch of one): stored [N, K], read through a transpose.
//   Each column is then a dot product along K, four K steps a load of A and of B, and the
//   weight is read as N contiguous runs; over [K, N] a K step reads four columns of a row and
//   the next one a whole row further on (codegen/kernels/matmul.ts, dotProduct: about 2x
//   faster when the weight is not in cache, as a decoder's weights never are). An int8 weight
//   (dequantize_int8 of a constant [K, N], a scale a column: quantize-weights' under --weights
//   int8, an imported QDQ model's) likewise, a scale a row.
// - N not a multiple of 4: [K, N] rows are not 16-byte aligned, so the kernel would load B a
//   column at a time. Stored with zero columns up to the next multiple of 4 and read through a
//   slice of its first N columns, it is loaded four columns a load; the kernel never stores the
//   columns past N. PP-OCRv4 rec's head (40x120x6625) took 25 ms instead of 28 to 31 (kiln
//   profile, alternating).
// Small weights stay as they are (their kernels cost little, and a classifier head's kernel,
// fuse-classifier-head.ts, takes a weight of up to 2^16 elements as stored).

/** Weights of this many elements or fewer are left as they are. */
export const SMALL_WEIGHT_ELEMENTS = 65536;

/** How a weight is stored instead (its const remade under its name), and how its matmul reads it back as [K, N]. */
interface Layout {
  /** The const whose data is `stored` instead, and the nodes between it and the matmul, which `read` replaces. */
  readonly replaces: readonly Node[];
  readonly stored: TensorData;
  /** The weight as a matrix now, for the log. */
  readonly shape: readonly number[];
  readonly read: (b: GraphRebuilder, stored: Value, dev: Device) => Value;
}

/** `w` [K, N] with zero columns appended up to `n4`. */
function padColumns(w: TensorData, n4: number): TensorData {
  const [k, n] = w.shape as [number, number];
  const out = allocTyped(w.dtype, k * n4);
  for (let r = 0; r < k; r++) out.set(w.data.subarray(r * n, (r + 1) * n), r * n4);
  return { dtype: w.dtype, shape: [k, n4], data: out };
}

/** Whether a matmul's [K, N] weight (a 2-D B of more than SMALL_WEIGHT_ELEMENTS) is better stored [N, K]: A has one row and K is a multiple of 4. */
function columnsAlongK(node: Node): boolean {
  const [x, w] = node.inputs;
  return w?.type.shape.length === 2 && x!.type.shape.at(-2) === 1 && w.type.shape[0]! % 4 === 0 && numel(w.type.shape) > SMALL_WEIGHT_ELEMENTS;
}

/** The transpose through which a matmul reads its weight stored [N, K]. */
const transposed = (b: GraphRebuilder, stored: Value, dev: Device): Value => b.add('transpose', [stored], { perm: [1, 0] }, dev).output;

/** Packed int8 values [K, N] (quantize-int8.ts, four a word) as [N, K]. */
function transposedInt8(packed: TensorData, k: number, n: number): TensorData {
  const bytes = new Uint8Array(k * n);
  const words = packed.data as ArrayLike<number>;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const i = r * n + c;
      bytes[c * k + r] = unpackInt8(words, i) & 255;
    }
  }
  return wordsOfBytes(bytes);
}

/**
 * A one-row matmul's int8 weight, dequantize_int8 of a constant [K, N] with a scale a column
 * (quantize-weights', or an imported QDQ model's), read by nothing else: stored [N, K] with a
 * scale a row, read through a transpose of its dequantize_int8.
 */
function int8AlongK(node: Node, users: ReadonlyMap<Value, Node[]>): Layout | undefined {
  const dq = node.inputs[1]?.producer;
  const source = dq?.op === 'dequantize_int8' ? dq.inputs[0]!.producer : undefined;
  const packed = source?.op === 'const' ? attrsOf(source, constAttrs).value : undefined;
  if (!packed || attrsOf(dq!, dequantizeInt8Attrs).axis !== 1 || !columnsAlongK(node)) return undefined;
  if (users.get(dq!.output)?.length !== 1 || users.get(source!.output)?.length !== 1) return undefined;
  const [k, n] = dq!.output.type.shape as [number, number];
  return {
    replaces: [source!, dq!], stored: transposedInt8(packed, k, n), shape: [n, k],
    read: (b, s, dev) => transposed(b, b.add('dequantize_int8', [s, b.get(dq!.inputs[1]!)], { shape: [n, k], axis: 0 }, dev).output, dev),
  };
}

/** The layout a WebGPU matmul's const float [K, N] weight (or an int8 one) is better stored in, when nothing else reads it. */
function betterLayout(node: Node, users: ReadonlyMap<Value, Node[]>): Layout | undefined {
  if (node.op !== 'matmul' || node.output.type.device !== 'webgpu') return undefined;
  const w = node.inputs[1];
  const value = w?.producer?.op === 'const' ? attrsOf(w.producer, constAttrs).value : undefined;
  if (!value) return int8AlongK(node, users);
  if (value.shape.length !== 2 || (value.dtype !== 'f32' && value.dtype !== 'f16') || numel(value.shape) <= SMALL_WEIGHT_ELEMENTS || users.get(w!)?.length !== 1) return undefined;
  const replaces = [w!.producer!];
  if (columnsAlongK(node)) return { replaces, stored: transposed2d(value), shape: [value.shape[1]!, value.shape[0]!], read: transposed };
  const n = value.shape[1]!;
  if (n % 4 === 0) return undefined;
  const stored = padColumns(value, Math.ceil(n / 4) * 4);
  return {
    replaces, stored, shape: stored.shape,
    read: (b, s, dev) => b.add('slice', [s], { starts: [0], ends: [n], axes: [1] }, dev).output,
  };
}

export const alignWeights: Pass = {
  name: 'align-weights',
  description: 'store constant matmul weights as their kernels load them fastest: [N, K] for one row, padded to a multiple of 4 columns otherwise',
  run(g: Graph, ctx: PassContext): Graph {
    const users = g.users();
    const layouts = new Map<Node, Layout>();
    for (const node of g.nodes) {
      const layout = betterLayout(node, users);
      if (layout) layouts.set(node, layout);
    }
    // The weights' consts are remade, under their names, where their matmuls are.
    const replaced = new Set([...layouts.values()].flatMap((l) => l.replaces));
    let changed = false;
    const out = rebuild(g, (node, b) => {
      if (replaced.has(node)) return true;
      const layout = layouts.get(node);
      if (!layout) return false;
      const weight = node.inputs[1]!;
      const dev = node.output.type.device;
      const stored = b.add('const', [], { value: layout.stored }, dev, [layout.replaces[0]!.output.name]).output;
      b.replace(node.output, b.add('matmul', [b.get(node.inputs[0]!), layout.read(b, stored, dev)], node.attrs, dev, [node.output.name]).output);
      ctx.log?.(`align-weights: %${weight.name} [${weight.type.shape.join(',')}] stored as [${layout.shape.join(',')}] for %${node.output.name}`);
      changed = true;
      return true;
    });
    return changed ? out : g;
  },
};
