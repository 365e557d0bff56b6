import type { Dim } from '../../ir/size-expr.js';
/** What a kernel emitter returns: WGSL plus one dispatch's uniforms and grid. */
export interface EmittedKernel {
  /** Named after what the kernel computes (e.g. `matmul`, `add_relu`). */
  readonly name: string;
  readonly wgsl: string;
  /** 32-bit words of the dispatch's uniform block (sizes known when the model runs as expressions). */
  readonly uniforms: Dim[];
  readonly workgroups: [Dim, Dim, Dim];
  /**
   * Which of the node's values the storage bindings are, as indices into [...inputs, ...outputs]
   * (KernelModule derives them from its declarations). Lets one node lower to several dispatches.
   */
  readonly bindings: readonly number[];
}
