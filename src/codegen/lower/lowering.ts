import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import type { Epilogue } from '../kernels/epilogue.js';
import type { View } from '../../ir/view.js';

/**
 * Lowers one node to one kernel, or to several dispatched in order. Storage bindings are the
 * node's inputs in order, then its outputs (or the kernel's explicit `bindings`), then the
 * uniform block.
 */
export type Lowering = (node: Node, ctx?: LowerContext) => EmittedKernel | EmittedKernel[];

/** Choices a lowering takes from outside: which kernel variant to emit (from tuning). */
export interface LowerContext {
  /** The variant for a kernel family and problem signature, or undefined for the default heuristic. */
  readonly choose?: KernelChooser;
}

/** Picks one of `variants` of a kernel `family` for the problem `signature`. */
export type KernelChooser = (family: string, signature: string, variants: readonly string[]) => string | undefined;

/**
 * Lowers an anchor op (conv, matmul) with optional elementwise work fused after it, and
 * optionally reading operand i through `views[i]` (a strided view of the buffer bound for it).
 * The kernel's storage bindings are the anchor's inputs, then the epilogue's operands, then the output.
 */
export type AnchorLowering = (node: Node, epilogue?: Epilogue, views?: readonly (View | undefined)[], ctx?: LowerContext) => EmittedKernel;
