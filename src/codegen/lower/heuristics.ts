import type { KernelChooser } from './lowering.js';

/** What kind of adapter kernels are generated for, when no measurement says otherwise. */
export type AdapterClass = 'software' | 'gpu';

/**
 * Kernel variants by adapter class, for when nothing was tuned: software adapters (lavapipe,
 * SwiftShader) run register-blocked kernels without workgroup memory fastest (measured: the
 * tiled matmul is ~20% slower there); GPUs want the workgroup-memory tiled matmul.
 */
export function heuristicChooser(adapter: AdapterClass | undefined): KernelChooser {
  return (family, _signature, variants) => (family === 'matmul' && adapter === 'gpu' && variants.includes('tiled') ? 'tiled' : variants[0]);
}
