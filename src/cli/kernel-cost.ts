// Work and memory traffic of one kernel, estimated from the IR node it runs (its op and shapes),
// so `kiln profile` can set each kernel's device time against the adapter's ceiling.
//
// FLOPs (a multiply-add counts 2):
//   matmul        2·K per output element (K: the contracted size)
//   gemm          2·M·N·K, plus M·N for the bias when there is one
//   conv2d        2·(C_in/groups)·kH·kW per output element, plus 1 for the bias
//   conv_transpose2d  2·(C_out/groups)·kH·kW per input element, plus 1 per output for the bias
//   pools         one per window element per output (global/adaptive: one per input element)
//   elementwise   1 per output element (a transcendental is one, not its instruction count)
//   reductions    1 per input element; softmax 4 (max, exp, sum, divide); layer_norm 6
//   movement, gather, concat, casts to the same width: 0
//   dequantizing stored weights (int8, blockwise codes; gather_blocks's rows): 2 per element
//     produced (the zero point's subtraction, the scale's multiply), fused or not
//   fused         the sum over its body's nodes
// Ops outside this table have no estimate (null), rather than a guess.
// Bytes: every distinct input read once plus every output written once, at the device's width
// (f16 2 bytes, everything else 4): the least traffic the kernel can have. Re-reads (a direct
// convolution reading each input pixel kH·kW times) are not counted, so GB/s is a lower bound
// on the traffic the kernel really drives.
import { attrsOf } from '../ir/attrs.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { fusedAttrs } from '../ir/ops/fused.js';
import { gemmDims } from '../ir/ops/gemm.js';
import { getOp, hasOp } from '../ir/ops/index.js';
import { numel } from '../ir/types.js';
import { deviceBytesPerElement, type Program } from '../runtime/program.js';

export interface KernelCost {
  /** Floating-point operations per run; null when the op has no estimate. */
  readonly flops: number | null;
  /** Bytes read and written per run, each operand once. */
  readonly bytes: number;
}

const size = (v: Value): number => numel(v.type.shape);
const bytesOf = (v: Value): number => size(v) * deviceBytesPerElement(v.type.dtype);

/** Per-element FLOPs of reductions that do more than one operation per element. */
const PER_INPUT_ELEMENT: Readonly<Record<string, number>> = { softmax: 4, log_softmax: 5, layer_norm: 6 };

/** Ops that turn stored codes into floats: a subtraction and a multiply per element produced. */
const DEQUANTIZING = new Set(['dequantize_int8', 'dequantize_blocks', 'gather_blocks']);

/** Ops that only move, select or reinterpret elements. */
const NO_ARITHMETIC = new Set([
  'const', 'reshape', 'flatten', 'squeeze', 'unsqueeze', 'expand', 'transpose', 'concat', 'split', 'slice', 'pad',
  'gather', 'gather_elements', 'gather_nd', 'embedding', 'channel_shuffle', 'narrow', 'bitcast', 'transfer',
]);

/** FLOPs of one (unfused) node, or null when the table above has no rule for its op. */
export function nodeFlops(node: Node): number | null {
  const out = node.outputs[0];
  const [a, b, c] = node.inputs;
  switch (node.op) {
    case 'fused': {
      let total = 0;
      for (const n of attrsOf(node, fusedAttrs).body.nodes) {
        const f = nodeFlops(n);
        if (f === null) return null;
        total += f;
      }
      return total;
    }
    case 'matmul': {
      const k = a!.type.shape[a!.type.shape.length - 1] ?? 1;
      return 2 * k * size(out!);
    }
    case 'gemm': {
      const t = node.attrs as { trans_a?: boolean; trans_b?: boolean };
      const { m, n, k } = gemmDims(a!.type.shape, b!.type.shape, t.trans_a === true, t.trans_b === true);
      return 2 * m * n * k + (c ? m * n : 0);
    }
    case 'conv2d': {
      // weight [C_out, C_in/groups, kH, kW]: one output element takes numel(w)/C_out multiply-adds.
      const w = b!.type.shape;
      return (2 * numel(w) / w[0]! + (c ? 1 : 0)) * size(out!);
    }
    case 'conv_transpose2d': {
      // weight [C_in, C_out/groups, kH, kW]: one input element scatters into numel(w)/C_in outputs.
      const w = b!.type.shape;
      return (2 * numel(w) / w[0]!) * size(a!) + (c ? size(out!) : 0);
    }
    case 'max_pool2d':
    case 'avg_pool2d': {
      const k = (node.attrs as { kernel_size: number[] }).kernel_size;
      return k.reduce((p, d) => p * d, 1) * size(out!);
    }
    case 'global_avg_pool':
    case 'adaptive_avg_pool2d':
      return size(a!);
  }
  if (NO_ARITHMETIC.has(node.op)) return 0;
  if (DEQUANTIZING.has(node.op)) return 2 * size(out!);
  if (node.op in PER_INPUT_ELEMENT) return PER_INPUT_ELEMENT[node.op]! * size(a!);
  if (!hasOp(node.op)) return null;
  const kind = getOp(node.op).kind;
  if (kind === 'elementwise') return node.op === 'cast' && sameWidth(a!, out!) ? 0 : node.outputs.reduce((s, o) => s + size(o), 0);
  if (kind === 'reduction') return size(a!);
  if (kind === 'movement') return 0;
  return null;
}

function sameWidth(a: Value, b: Value): boolean {
  return deviceBytesPerElement(a.type.dtype) === deviceBytesPerElement(b.type.dtype);
}

/** FLOPs and bytes of the kernel that runs `node` (a fused node: its body's work, its own operands' traffic). */
export function kernelCost(node: Node): KernelCost {
  const operands = new Set<Value>([...node.inputs, ...node.outputs]);
  let bytes = 0;
  for (const v of operands) bytes += bytesOf(v);
  return { flops: nodeFlops(node), bytes };
}

/**
 * The cost of each dispatch of `program`, compiled from `graph` (the optimised graph): codegen
 * labels a dispatch `<kernel> -> %out, ...` with its node's outputs, which find the node. A node
 * lowered to several dispatches has its cost on the first and none on the rest; a dispatch
 * whose node is not found has none (undefined).
 */
export function dispatchCosts(program: Program, graph: Graph): (KernelCost | undefined)[] {
  const byOutput = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) byOutput.set(o.name, n);
  const seen = new Set<Node>();
  return program.dispatches.map((d) => {
    const first = /-> %([^,\s]+)/.exec(d.label)?.[1];
    const node = first === undefined ? undefined : byOutput.get(first);
    if (!node || seen.has(node)) return undefined;
    seen.add(node);
    return kernelCost(node);
  });
}
