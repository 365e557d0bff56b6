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
 * ~1.8x faster than the 4 x 4 blocks at 512^3 and 1024^3), or where the adapter offers
 * `subgroups`, the same blocks loading A once a subgroup (`shuffle16x8`: 1.6 to 2.3x faster than
 * block16x8 at 512^3 and 1024^3 on lavapipe, see SHUFFLE16X8); fewer rows keep the 4 x 4 blocks,
 * which compute less that is thrown away, and a single row takes `rows1` (see withOneRowVariant).
 * GPUs keep the choices they had before Gemm consulted the chooser (matmul tiled; Gemm the 4 x 4
 * blocks, `rows1` for one row): the 16 x 8 blocks were made for lavapipe's loads and were not
 * measured on a GPU (`--tune` measures there).
 *
 * conv: on lavapipe the implicit GEMM lost to the register-blocked direct kernel on every layer
 * measured (PP-OCR cls 1x1 layers, 3x3 stems, 3x3 and 1x1 layers of 64 to 128 channels at 40x40 to
 * 80x80: the GEMM took 1.5 to 4x as long), since its workgroup barriers and tile traffic cost more
 * than the reuse saves when a workgroup runs on one CPU thread; and the row kernel, whose lanes
 * share their weights' addresses, beat the direct one on every layer of PP-OCR cls (its conv time
 * 10.4 -> 7.6 ms summed; depthwise 5x5 layers 1.6 to 1.8x, 1x1 layers up to 1.4x), but lost on
 * PP-OCRv4 det's 3x3 layers of 96 input channels (24 outputs at 40x40 and 160x160: 1.3 to 4x as
 * long, its unrolled window over many channels spilling). Its unrolled windows also cost lavapipe
 * seconds of compiling per shader: PP-OCR cls loaded cold (no shader cache) in 45 s with it on its
 * depthwise, 1x1 and stem layers, 14 s on its depthwise layers alone, 8 s without it, a cost a ~2
 * ms faster run repays only after thousands of runs. So software adapters keep the direct kernel by
 * default, and `--tune` (which times both) picks the rows, except on pointwise layers (1x1, stride
 * 1, unpadded, ungrouped) at least 32 wide: there the row kernel has no window to unroll, and with
 * at most 8 pixels an invocation (see rowsBlocking) it cut PP-OCRv4 rec's summed conv time 264 ->
 * 226 ms and cls's 9.7 -> 8.8 ms, for 3 s more of cold compiling (rec 5.8 -> 9.0 s, cls 6.8 -> 9.8
 * s); on det's 1x1 layers 40 to 160 wide it took 0.4 to 0.6x the direct kernel's time, but at 20
 * wide (8-lane workgroups of 3 pixels over a row of 20, hundreds of input channels) twice as long.
 * Where the adapter offers subgroups, every conv the row kernel with shared weights serves (windows
 * up to 3 wide) with at least 8 input channels a group takes it (`rowsg`: each weight loaded once a
 * subgroup, the window's rows a loop, see SHARED_WEIGHTS in conv-rows.ts): PP-OCRv4 rec's summed
 * conv time 202 -> 167 ms against `rows` on its 1x1 layers (minima of 5 alternating trials);
 * against the direct kernel, det's 3x3 layers of 96 to 24 channels at 160x160, 80x80, 40x40 and
 * 20x20 took 0.5 to 0.8x the time, its 1x1 layers 20 wide (192 and 384 channels) 0.5 to 0.6x, rec's
 * 1x3 layers 0.6x (single runs, uploads included). Ungrouped layers of fewer input channels
 * (an RGB stem) take it too since it reads rows four columns at a time (see rowVec4Io): the stems
 * of PP-OCRv4 det, rec and PP-OCR cls took 6.2, 0.28 and 0.12 ms against the direct kernel's 13.8,
 * 0.53 and 0.18 ms (minima of 5 to 12 alternating trials; before the vec4 loads det's took 1.4x).
 * Depthwise layers take the depthwise row kernel (`dwrows`: weights the same for every lane, a
 * window row unrolled, the rows a loop), which ran PP-OCR cls's depthwise layers 1.5 to 2x as fast
 * as the flat depthwise kernel (its conv time 9.6 -> 7.8 ms summed) and compiles no slower. GPUs
 * keep the flat kernels, whose every invocation is independent (the row kernel's 8-invocation
 * workgroups would leave most of a GPU's SIMD width idle), and the implicit GEMM, as they get the
 * tiled matmul, once a step of its tile has input channels to fill it (8); `--tune` measures.
 *
 * conv_transpose: software adapters take the row kernel (weights the same for every lane, the W
 * window compiled in, so no tap is tested at run time): on PP-OCRv4 det's head (2x2, stride 2, 24
 * -> 24 channels at 160x160, then 24 -> 1 at 320x320) it took 43 and 10 ms against the flat
 * kernel's 65 and 20 ms (minima of 5 alternating trials, load average 8). GPUs keep the flat
 * kernel, whose invocations are all independent (the row kernel's 8-invocation workgroups would
 * leave most of a GPU's SIMD width idle).
 *
 * concat: software adapters take the loops (`loops`, see emitConcatLoops: a workgroup of 8 lanes
 * copies a chunk of an output row, each part's run a loop, so no invocation tests which part it
 * reads): the 12-layer decoder's KV cache appends summed 13.3-19.8 -> 6.8-8.3 ms a token, PP-OCRv4
 * det's and rec's concats took 3.4 and 0.11 ms against 5.5 and 0.13 (minima, alternating). GPUs keep
 * the flat kernel, every invocation one element or four.
 *
 * attention: software adapters with subgroups take the row kernel (`rows`, one invocation a query,
 * see emitAttentionRows) wherever it is offered; fuse-attention fuses only what it takes there
 * (see rowKernelTakes for the measurements). GPUs keep the workgroup a query row.
 */
export function heuristicChooser(adapter: AdapterClass | undefined, features: readonly string[] = []): KernelChooser {
  // Where the adapter offers subgroups, the kernels that share uniform loads across a subgroup.
  const subgroups = features.includes('subgroups');
  const blocks = subgroups ? 'shuffle16x8' : 'block16x8';
  const blocksMinMacs = subgroups ? SHUFFLE16X8_MIN_MACS : BLOCK16X8_MIN_MACS;
  const dwrows = subgroups ? 'dwrowsg' : 'dwrows';
  return (family, signature, variants) => {
    // A pair of convolutions takes its lowering's rule (the pair where both members take rowsg).
    if (family === 'conv_pair') return undefined;
    const product = family === 'matmul' || family === 'gemm';
    // A product over symbolic sizes takes its lowering's default (the 4 x 4 blocks, `rows1` where
    // the rows vary down to one), whichever the adapter.
    if (product && !STATIC_MATMUL.test(signature)) return undefined;
    if (adapter !== 'gpu') {
      if (product && variants.includes('rows1') && matmulRows(signature) === 1) return 'rows1';
      if (product && variants.includes(blocks) && matmulRows(signature) >= 16 && matmulMacs(signature) >= blocksMinMacs) return blocks;
      if (family === 'conv' && variants.includes('pointmm') && subgroups && convMacs(signature) >= POINTWISE_MATMUL_MIN_MACS) return 'pointmm';
      if (family === 'conv' && variants.includes('rowsg') && subgroups && (convInputsPerGroup(signature) >= SHARED_ROWS_MIN_INPUTS || convGroups(signature) === 1)) return 'rowsg';
      if (family === 'conv' && variants.includes('rows') && POINTWISE_CONV.test(signature) && convOutputWidth(signature) >= ROWS_MIN_WIDTH) return 'rows';
      if (family === 'conv' && variants.includes(dwrows)) return dwrows;
      if (family === 'conv_transpose' && variants.includes('rows')) return 'rows';
      if (family === 'concat' && variants.includes('loops')) return 'loops';
      if (family === 'attention' && subgroups && variants.includes('rows')) return 'rows';
      return variants[0];
    }
    if (family === 'gemm' && variants.includes('rows1') && matmulRows(signature) === 1) return 'rows1';
    if (family === 'matmul' && variants.includes('tiled')) return 'tiled';
    if (family === 'conv' && variants.includes('gemm') && convInputChannels(signature) >= 8) return 'gemm';
    return family === 'conv' ? 'direct' : variants[0];
  };
}

/** A matmul signature `dtype:BxMxKxN` of fixed sizes (see matmulSignature). */
const STATIC_MATMUL = /^\w+:\d+x(\d+)x\d+x\d+$/;

/** Rows (M) of a static matmul signature. */
function matmulRows(signature: string): number {
  return Number(STATIC_MATMUL.exec(signature)?.[1] ?? 0);
}

/** Multiply-adds of a static matmul signature (batch x M x K x N). */
function matmulMacs(signature: string): number {
  const m = /^\w+:(\d+)x(\d+)x(\d+)x(\d+)$/.exec(signature);
  return m ? m.slice(1).reduce((a, d) => a * Number(d), 1) : 0;
}

/**
 * The 16 x 8 blocks pay for their speed in compile time: lavapipe compiles one such shader in
 * about 1.5 s against 0.3 s for the 4 x 4 blocks (measured without the shader cache), and a
 * model has one shader per product shape (PP-OCRv4 rec's cold load went from 6 to 35 s with
 * them everywhere). Only a product this large (512^3) saves enough per run to be worth it.
 */
const BLOCK16X8_MIN_MACS = 2 ** 27;

/**
 * shuffle16x8 compiles as slowly (about 1.6 s a shader) but saves more: at 128x768x768 (a
 * BERT-base layer's projections) it ran in 5.1 ms against 13.8 ms for the 4 x 4 blocks and 8.7 for
 * block16x8 (lavapipe, minima of 7 alternating runs, uploads included), and at 40x120x6625 (PP-OCRv4
 * rec's head, 32M multiply-adds) in 5.6 ms against 18.5 (9.0 for block16x8; minima of 5 alternating
 * trials, `bench/kernel-ab.ts`), so products from about a quarter of the first size take it.
 */
const SHUFFLE16X8_MIN_MACS = 2 ** 24;

/** A conv signature (see convSignature) of a 1x1 window, stride 1, no padding, one group. */
const POINTWISE_CONV = /:k1x1:s1x1:d1x1:p0,0,0,0$/;

/** Output columns of a conv signature `dtype:NxCxHxW->OxOHxOW:...` (a varying width by its largest value). */
function convOutputWidth(signature: string): number {
  return Number(/->\d+x\d+x(\d+):/.exec(signature)?.[1] ?? 0);
}

/** Output width from which a pointwise layer takes the row kernel on software adapters. */
const ROWS_MIN_WIDTH = 32;

/** Groups of a conv signature (`:gG` at its end when there is more than one). */
function convGroups(signature: string): number {
  return Number(/:g(\d+)$/.exec(signature)?.[1] ?? 1);
}

/** Input channels of each group of a conv signature. */
function convInputsPerGroup(signature: string): number {
  return convInputChannels(signature) / convGroups(signature);
}

/**
 * Input channels a group needs for the row kernel with shared weights where the conv is grouped
 * (a subgroup's lanes load the weights of that many, lavapipe's 8); depthwise layers (one a
 * group) take the depthwise row kernel instead.
 */
const SHARED_ROWS_MIN_INPUTS = 8;

/** Multiply-adds of a conv signature: batch x output channels and pixels x input channels a group x taps. */
function convMacs(signature: string): number {
  const m = /^\w+:(\d+)x(\d+)x\d+x\d+->(\d+)x(\d+)x(\d+):k(\d+)x(\d+):/.exec(signature);
  if (!m) return 0;
  const [n, c, o, oh, ow, kh, kw] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return (n * o * oh * ow * c * kh * kw) / convGroups(signature);
}

/**
 * Multiply-adds from which a pointwise conv runs as a shuffle16x8 matmul (`pointmm`, see
 * conv-pointwise-matmul.ts) where subgroups are offered. It is faster on large layers, but its
 * shaders compile slowly (3 to 9 s each on lavapipe: the epilogue is repeated for each of the
 * block's 128 outputs). Against `rowsg` (minima of 5 alternating trials): from 2^23, PP-OCRv4
 * det's and rec's summed device time fell 521 -> 440 and 165 -> 139 ms, but det's cold compile
 * grew 21 -> 58 s; from 2^25 (its layers of 39 to 59 million), det's 464 -> 421 ms for a 32 s cold
 * compile. PP-OCR cls's layers (0.2 to 2.5 million) ran no faster.
 */
const POINTWISE_MATMUL_MIN_MACS = 2 ** 25;

/** Input channels of a conv signature `dtype:NxCxHxW->...` (see convSignature). */
function convInputChannels(signature: string): number {
  return Number(/^\w+:\d+x(\d+)x/.exec(signature)?.[1] ?? 0);
}
