import type { Node } from '../../ir/graph.js';
import type { DType } from '../../ir/types.js';
import type { Dim } from '../../ir/size-expr.js';
import type { AnchorRoles, OperandRead } from '../../ir/fusion.js';
import type { View } from '../../ir/view.js';
import type { ChannelLayout } from '../../ir/quantize-int8.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import type { Epilogue } from '../kernels/epilogue.js';
import type { Source } from '../kernel-module.js';
import type { BodyFunction } from './body-function.js';

/**
 * Lowers one node to one kernel, or to several dispatched in order. Each kernel says which of the
 * node's values its storage bindings hold (`bindings`, from its KernelModule); the uniform block
 * binds after them.
 */
export type Lowering = (node: Node, ctx?: LowerContext) => EmittedKernel | EmittedKernel[];

/** Choices a lowering takes from outside: which kernel variant to emit (from tuning). */
export interface LowerContext {
  /** The variant for a kernel family and problem signature, or undefined for the default heuristic. */
  readonly choose?: KernelChooser;
}

/** Picks one of `variants` of a kernel `family` for the problem `signature`. */
export type KernelChooser = (family: string, signature: string, variants: readonly string[]) => string | undefined;

/** A tensor an anchor kernel binds: the node value it is, and its stored dtype. */
export interface Bound {
  readonly source: Source;
  readonly dtype: DType;
}

/**
 * One operand of an anchor as its kernel reads it (see OperandRead). `source` and `dtype` are
 * the tensor bound for it: the operand itself ('plain'), the base of its view ('view'), the
 * input of its cast ('convert': the kernel converts as it loads), the scaled tensor ('scale'), or
 * the packed int8 values of a quantized weight ('dequantize').
 */
export interface AnchorOperand extends Bound {
  readonly read: OperandRead;
  /** 'view': the view of `source` read; 'dequantize' of an int8 weight: the view of the dequantized weight read, if any. */
  readonly view?: View;
  /** 'scale': the per-channel factors, and their stride between batch entries (0 when shared). */
  readonly scale?: Bound & { readonly batchStride: number };
  /** 'dequantize' of an int8 weight: the per-channel scales of the packed int8 weight `source`, and where each element's channel is. */
  readonly int8?: Bound & ChannelLayout;
  /** 'dequantize' of a blockwise weight [K, N]: the scales of the codes `source`, its zero points, and its layout (quantize-blocks.ts). */
  readonly blocks?: Bound & { readonly bits: number; readonly block: number; readonly columns: number; readonly zeros?: Bound };
  /**
   * 'chain': the chain's operands and the function computing an element from them. An operand is
   * laid out like the anchor's operand, or broadcast to it by `strides` (0 where it repeats).
   */
  readonly chain?: { readonly operands: readonly (Bound & { readonly strides?: readonly Dim[] })[]; readonly fn: BodyFunction };
}

/** What an anchor kernel reads, runs after itself, and writes. */
export interface AnchorIO {
  readonly operands: readonly AnchorOperand[];
  readonly epilogue?: Epilogue;
  /** The body nodes after the anchor, for kernels whose epilogue roles are not elementwise (concat's shuffle and cast). */
  readonly after?: readonly Node[];
  /** The node value the kernel writes. */
  readonly out: Source;
}

/** The operands of `node` read as stored, and its own result: how an unfused anchor is lowered. */
export function plainIO(node: Node): AnchorIO {
  return { operands: node.inputs.map((v, i) => ({ read: 'plain', source: i, dtype: v.type.dtype })), out: node.inputs.length };
}

/** An anchor kernel's lowering: the node with its operand reads and epilogue. */
export type AnchorLowering = (node: Node, io: AnchorIO, ctx?: LowerContext) => EmittedKernel | EmittedKernel[];

/** An op whose kernel can run fused work around it: what it accepts, and how it lowers. */
export interface Anchor {
  readonly roles: AnchorRoles;
  readonly lower: AnchorLowering;
}

/** Plain lowerings of anchors, for nodes that fusion left alone. */
export function plainLowerings(anchors: Readonly<Record<string, Anchor>>): Record<string, Lowering> {
  return Object.fromEntries(Object.entries(anchors).map(([op, a]) => [op, (n: Node, ctx?: LowerContext) => a.lower(n, plainIO(n), ctx)]));
}

/** An anchor kernel's name: the anchor's op, prefixed when it computes a prologue, followed by its epilogue's. */
export function anchorKernelName(op: string, io: AnchorIO): string {
  return [io.operands.some((o) => o.read === 'chain') ? 'prologue' : '', op, io.epilogue?.name ?? ''].filter(Boolean).join('_');
}
