import { attrsOf } from '../ir/attrs.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { constAttrs } from '../ir/ops/source.js';
import type { TensorData } from '../ir/tensor-data.js';
import { allocTyped, numel } from '../ir/types.js';
import type { Pass, PassContext } from './pass.js';
import { rebuild } from './rebuild.js';

// A matmul's constant weight [K, N] whose N is not a multiple of 4 has rows that are not 16-byte
// aligned, so its kernel loads it a column at a time, four loads where one would do. Stored with
// zero columns up to the next multiple of 4 and read through a slice of its first N columns, it
// is loaded four columns a load: the kernel reads B through the slice's view, whose rows are
// aligned, and never stores the columns past N (codegen/kernels/matmul.ts). PP-OCRv4 rec's head
// (40x120x6625) took 25 ms instead of 28 to 31 (kiln profile, alternating). Small weights stay
// as they are (their kernels cost little, and fused heads match them as they are).

/** Weights of fewer elements are left unpadded. */
export const MIN_ALIGNED_ELEMENTS = 65536;

/** `w` [K, N] with zero columns appended up to `n4`. */
function padColumns(w: TensorData, n4: number): TensorData {
  const [k, n] = w.shape as [number, number];
  const out = allocTyped(w.dtype, k * n4);
  for (let r = 0; r < k; r++) out.set(w.data.subarray(r * n, (r + 1) * n), r * n4);
  return { dtype: w.dtype, shape: [k, n4], data: out };
}

/** The const [K, N] a WebGPU matmul reads as B, when its N is not a multiple of 4 and nothing else reads it. */
function unalignedWeight(node: Node, users: ReadonlyMap<Value, Node[]>): TensorData | undefined {
  const w = node.inputs[1];
  const value = w?.producer?.op === 'const' ? attrsOf(w.producer, constAttrs).value : undefined;
  if (node.op !== 'matmul' || node.output.type.device !== 'webgpu' || !value || value.shape.length !== 2) return undefined;
  if (value.dtype !== 'f32' && value.dtype !== 'f16') return undefined;
  return value.shape[1]! % 4 !== 0 && numel(value.shape) >= MIN_ALIGNED_ELEMENTS && users.get(w!)?.length === 1 ? value : undefined;
}

export const alignWeights: Pass = {
  name: 'align-weights',
  description: 'store constant matmul weights whose column count is not a multiple of 4 padded to one, read through a slice',
  run(g: Graph, ctx: PassContext): Graph {
    const users = g.users();
    const padded = new Map<Node, TensorData>();
    for (const node of g.nodes) {
      const value = unalignedWeight(node, users);
      if (value) padded.set(node, value);
    }
    // The weights' consts are remade padded, under their names, where their matmuls are.
    const replaced = new Set([...padded.keys()].map((n) => n.inputs[1]!.producer!));
    let changed = false;
    const out = rebuild(g, (node, b) => {
      if (replaced.has(node)) return true;
      const value = padded.get(node);
      if (!value) return false;
      const [k, n] = value.shape as [number, number];
      const n4 = Math.ceil(n / 4) * 4;
      const dev = node.output.type.device;
      const stored = b.add('const', [], { value: padColumns(value, n4) }, dev, [node.inputs[1]!.name]).output;
      const w = b.add('slice', [stored], { starts: [0], ends: [n], axes: [1] }, dev).output;
      b.replace(node.output, b.add('matmul', [b.get(node.inputs[0]!), w], node.attrs, dev, [node.output.name]).output);
      ctx.log?.(`align-weights: %${node.inputs[1]!.name} [${k},${n}] stored as [${k},${n4}] for %${node.output.name}`);
      changed = true;
      return true;
    });
    return changed ? out : g;
  },
};
