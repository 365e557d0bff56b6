import type { KernelChooser } from './lowering.js';

/** What kind of adapter kernels are generated for, when no measurement says otherwise. */
export type AdapterClass = 'software' | 'gpu';

/**
 * Kernel variants by adapter class, for when nothing was tuned.
 *
 * matmul: software adapters (lavapipe, SwiftShader) run register-blocked kernels without
 * workgroup memory fastest (measured: the tiled matmul is ~20% slower there); GPUs want the
 * workgroup-memory tiled matmul. On software adapters a matmul or Gemm of at least 16 rows takes
 * the 16 x 8 blocks (`block16x8`: lavapipe's per-lane loads amortised over more of C, measured
 * ~1.8x faster than the 4 x 4 blocks at 512^3 and 1024^3); fewer rows keep the 4 x 4 blocks,
 * which compute less that is thrown away, and a single row takes `rows1` (see withOneRowVariant).
 * GPUs keep the choices they had before Gemm consulted the chooser (matmul tiled; Gemm the 4 x 4
 * blocks, `rows1` for one row): the 16 x 8 blocks were made for lavapipe's loads and were not
 * measured on a GPU (`--tune` measures there).
 *
 * conv (ungrouped conv2d; grouped and depthwise convs have one kernel each): on lavapipe the
 * register-blocked direct kernel beat the implicit GEMM on every layer measured (PP-OCR cls 1x1
 * layers, 3x3 stems, 3x3 and 1x1 layers of 64 to 128 channels at 40x40 to 80x80: the GEMM took
 * 1.5 to 4x as long), since its workgroup barriers and tile traffic cost more than the reuse
 * saves when a workgroup runs on one CPU thread. GPUs get the implicit GEMM, as they get the
 * tiled matmul, once a step of its tile has input channels to fill it (8); `--tune` measures.
 */
export function heuristicChooser(adapter: AdapterClass | undefined): KernelChooser {
  return (family, signature, variants) => {
    const product = family === 'matmul' || family === 'gemm';
    // A product over symbolic sizes takes its lowering's default (the 4 x 4 blocks, `rows1` where
    // the rows vary down to one), whichever the adapter.
    if (product && !STATIC_MATMUL.test(signature)) return undefined;
    if (adapter !== 'gpu') {
      if (product && variants.includes('rows1') && matmulRows(signature) === 1) return 'rows1';
      if (product && variants.includes('block16x8') && matmulRows(signature) >= 16) return 'block16x8';
      return variants[0];
    }
    if (family === 'gemm' && variants.includes('rows1') && matmulRows(signature) === 1) return 'rows1';
    if (family === 'matmul' && variants.includes('tiled')) return 'tiled';
    if (family === 'conv' && variants.includes('gemm') && convInputChannels(signature) >= 8) return 'gemm';
    return variants[0];
  };
}

/** A matmul signature `dtype:BxMxKxN` of fixed sizes (see matmulSignature). */
const STATIC_MATMUL = /^\w+:\d+x(\d+)x\d+x\d+$/;

/** Rows (M) of a static matmul signature. */
function matmulRows(signature: string): number {
  return Number(STATIC_MATMUL.exec(signature)?.[1] ?? 0);
}

/** Input channels of a conv signature `dtype:NxCxHxW->...` (see convSignature). */
function convInputChannels(signature: string): number {
  return Number(/^\w+:\d+x(\d+)x/.exec(signature)?.[1] ?? 0);
}
