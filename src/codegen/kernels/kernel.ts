/** What a kernel emitter returns: WGSL plus one dispatch's uniforms and grid. */
export interface EmittedKernel {
  /** Named after what the kernel computes (e.g. `matmul`, `add_relu`). */
  readonly name: string;
  readonly wgsl: string;
  /** 32-bit words of the dispatch's uniform block. */
  readonly uniforms: number[];
  readonly workgroups: [number, number, number];
  /**
   * Which of the node's values the storage bindings are, as indices into [...inputs, ...outputs]
   * (KernelModule derives them from its declarations). Lets one node lower to several dispatches.
   */
  readonly bindings: readonly number[];
}
