import { attrsOf } from './attrs.js';
import type { Node, Value } from './graph.js';
import { constAttrs } from './ops/source.js';
import { f16BitsToF32 } from './f16.js';
import type { View } from './view.js';

// The vocabulary fusion and kernels share. An anchor kernel (conv, matmul, reductions, softmax,
// layer_norm, concat) declares which reads of its operands and which work after it it accepts;
// the fuse pass matches the graph against those declarations and records what it chose on the
// fused node (`anchor`, `reads`), and lowering follows that record.

/** WebGPU guarantees 8 storage buffers per shader stage: a fused kernel reads and writes at most that. */
export const MAX_STORAGE_BINDINGS = 8;

/** Floats of workgroup memory WebGPU guarantees (16 KiB): what a kernel keeping a fused node's tiles or vectors there may hold. */
export const WORKGROUP_FLOATS = 4096;

/** How an anchor kernel reads one operand. */
export type OperandRead =
  /** The stored tensor itself. */
  | 'plain'
  /** A strided view (transpose, split output, slice...) of another tensor, read through its view chain. */
  | 'view'
  /** A plain float cast's input, converted as it is loaded (f16 widened, or an f32 input narrowed). */
  | 'convert'
  /** `x * s` with `s` one value per channel of x, scaled as it is read. */
  | 'scale'
  /** An elementwise chain over operands laid out like the operand, computed as it is read. */
  | 'chain'
  /** A weight stored as packed int8 with per-channel scales (dequantize_int8), dequantized as it is read. */
  | 'dequantize';

export const OPERAND_READS: readonly OperandRead[] = ['plain', 'view', 'convert', 'scale', 'chain', 'dequantize'];

/** Work after an anchor that its kernel can do on each result before storing it. */
export type EpilogueRole =
  /** Elementwise ops over the result and operands broadcast into its shape. */
  | 'elementwise'
  /** One float cast (f16 <-> f32) of the result. */
  | 'float-cast'
  /** A channel shuffle of the result (along the axis the anchor writes in slabs). */
  | 'channel-shuffle';

/** What an anchor kernel accepts around it; codegen declares one per anchor op. */
export interface AnchorRoles {
  /** The reads operand `input` of `node` accepts besides 'plain'. */
  readonly reads: (node: Node, input: number) => readonly OperandRead[];
  /** For 'view' reads: whether the kernel reads operand `input` through this particular view. */
  readonly readsView?: (node: Node, input: number, view: View) => boolean;
  /** The work after `node` its kernel takes. */
  readonly epilogue: (node: Node) => readonly EpilogueRole[];
}

/** A plain cast (one that rounds into no narrow format, so a reader may do it as it loads). */
export function isPlainCast(n: Node): boolean {
  return n.op === 'cast' && n.attrs.format === undefined;
}

/** A cast between f16 and f32. */
export function isFloatCast(n: Node): boolean {
  if (!isPlainCast(n)) return false;
  const [from, to] = [n.inputs[0]!.type.dtype, n.output.type.dtype];
  return from !== to && (from === 'f16' || from === 'f32') && (to === 'f16' || to === 'f32');
}

/** Parses a fused node's `reads` attribute ("view,plain"), or undefined when it is malformed. */
export function parseReads(text: string): OperandRead[] | undefined {
  const reads = text.split(',').map((s) => s.trim());
  return reads.every((r): r is OperandRead => (OPERAND_READS as readonly string[]).includes(r)) ? reads : undefined;
}

/**
 * The value of `v` when it is a one-element numeric constant (hardswish's 3 and 6 as an ONNX
 * graph spells them, a learned scalar scale or shift, an epsilon): an anchor kernel's epilogue
 * passes it in its uniform block instead of binding a buffer for it, so fusion does not count it
 * against MAX_STORAGE_BINDINGS. Undefined for anything else.
 */
export function scalarConstant(v: Value): number | undefined {
  const p = v.producer;
  if (p?.op !== 'const' || !['f32', 'f16', 'i32', 'u32'].includes(v.type.dtype)) return undefined;
  const data = attrsOf(p, constAttrs).value;
  if (data?.data.length !== 1) return undefined;
  // f16 data holds its bits.
  return v.type.dtype === 'f16' ? f16BitsToF32(Number(data.data[0])) : Number(data.data[0]);
}
