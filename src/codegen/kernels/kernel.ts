import { dimRange, type Dim } from '../../ir/size-expr.js';
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
  /**
   * Kernels for the same work, each much faster where the size expression `size` lies in
   * `min..max`; tried in order before this one at each run (Program DispatchVariant). Each binds
   * the same values in the same order.
   */
  readonly variants?: readonly KernelVariant[];
}

/** A variant of a kernel and the sizes it is for. */
export interface KernelVariant {
  readonly size: Dim;
  readonly min?: number;
  readonly max?: number;
  readonly kernel: EmittedKernel;
}

/**
 * `kernel`, carrying `atOne()` (where it gives a kernel) as its variant for `size` = 1 when `size`
 * varies down to one: a batch of one, a single token or row, for which another kernel is faster.
 */
export function withVariantAtOne(kernel: EmittedKernel, size: Dim, atOne: () => EmittedKernel | undefined): EmittedKernel {
  if (typeof size === 'number' || dimRange(size)[0] > 1) return kernel;
  const one = atOne();
  return one ? { ...kernel, variants: [{ size, max: 1, kernel: one }] } : kernel;
}

/** A kernel's uniform words and workgroup counts as numbers; throws for one whose sizes vary. */
export function fixedDispatch(k: EmittedKernel): { readonly uniforms: number[]; readonly workgroups: [number, number, number] } {
  const num = (d: Dim): number => {
    if (typeof d !== 'number') throw new Error(`kernel '${k.name}' has a size known only when it runs: ${d.text}`);
    return d;
  };
  return { uniforms: k.uniforms.map(num), workgroups: k.workgroups.map(num) as [number, number, number] };
}
