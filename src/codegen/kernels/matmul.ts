import type { DType } from '../../ir/types.js';
import { dCeilDiv, dimRange, dimText, dIsMultiple, dNumel, type Dim } from '../../ir/size-expr.js';
import { KilnError } from '../../ir/errors.js';
import type { EmittedKernel } from './kernel.js';
import { KernelModule, unravel, type Source } from '../kernel-module.js';
import { declareOutput, type Epilogue } from './epilogue.js';
import { declareWeight, type WeightLoad, type WeightStorage } from './weight-load.js';
import { MAX_WORKGROUPS_PER_DIMENSION } from '../wgsl.js';

/** Where an operand's elements are: A(b, m, k) at offset + batch + m * outer + k * inner; B(b, k, n) likewise with k outer. */
export interface MatmulOperandLayout {
  readonly offset: Dim;
  readonly batchStrides: readonly Dim[];
  /** Stride of A's rows (m) or B's rows (k). */
  readonly outer: Dim;
  /** Stride of A's columns (k) or B's columns (n). */
  readonly inner: Dim;
}

export interface MatmulKernelSpec {
  readonly name: string;
  readonly dtype: DType;
  /** The node values bound for A, B, the bias (when there is one) and C. */
  readonly sources: { readonly a: Source; readonly b: Source; readonly bias?: Source; readonly out: Source };
  readonly m: Dim;
  readonly n: Dim;
  readonly k: Dim;
  /** Broadcast batch shape of the output. */
  readonly batchShape: readonly Dim[];
  /** Element strides of A's and B's matrices along each batch dimension (0 where broadcast). */
  readonly aBatchStrides: readonly Dim[];
  readonly bBatchStrides: readonly Dim[];
  /** A is stored as [K, M] (batch of) and read transposed; likewise B as [N, K]. */
  readonly transA?: boolean;
  readonly transB?: boolean;
  /**
   * Explicit layouts of A and B (element offset and strides), overriding the batch strides and
   * transposes above: how the kernel reads operands through views (transposes, splits) of
   * other tensors without copying them.
   */
  readonly aLayout?: MatmulOperandLayout;
  readonly bLayout?: MatmulOperandLayout;
  /** Scales the product: C = alpha * A x B (+ ...); a uniform, so it does not split shaders. */
  readonly alpha?: number;
  /**
   * Adds beta * bias[row * rowStride + col * colStride] (strides 0 where broadcast, per output
   * matrix; the same for every batch entry).
   */
  readonly bias?: { readonly rowStride: Dim; readonly colStride: Dim; readonly beta: number };
  /** Elementwise ops fused after the product. */
  readonly epilogue?: Epilogue;
  /** dtype A is stored in when it differs from `dtype` (a cast fused in front: A is converted as it is read). */
  readonly aDType?: DType;
  /**
   * Kernel variant: 'vec4b' (default) loads B four columns at a time where its layout allows;
   * 'scalar' never does; 'rows1' is vec4b computing one row per invocation, for a few rows (see ROWS1);
   * 'block16x8' computes 16 x 8 blocks, a workgroup's invocations sharing their rows (see BLOCK16X8);
   * 'shuffle16x8' is block16x8 loading A once a subgroup and sharing it by subgroupShuffle (see
   * SHUFFLE16X8; needs the `subgroups` feature).
   */
  readonly variant?: MatmulVariant;
  /** B is stored as packed int8 with one scale per column (channel = n), or blockwise, dequantized as it is loaded (weight-load.ts). */
  readonly bStored?: WeightStorage;
  /** Binds B before A (a conv's order, x then its weights, so a conv's kernels bind alike: see conv-pointwise-matmul.ts). */
  readonly bFirst?: boolean;
}

export type MatmulVariant = 'scalar' | 'vec4b' | 'tiled' | 'rows1' | 'block16x8' | 'shuffle16x8';

/**
 * A register-blocked variant's shape: each invocation computes a tm x tn block of C (tn a
 * multiple of 4: vec4 accumulators), a workgroup wgX x wgY invocations. `sharedRows`: wgY = 1 and
 * the rows come from the workgroup id, so every invocation of a workgroup reads the same rows of A.
 */
interface BlockShape {
  readonly tm: number; readonly tn: number; readonly wgX: number; readonly wgY: number; readonly sharedRows?: boolean; readonly shuffleA?: boolean;
  /** tn is a word of B's codes (see ROWS1_WORD). */
  readonly wordB?: boolean;
}

// Each invocation computes a TM x TN block of C in registers, with no workgroup memory:
// measured faster than workgroup-memory tiling on software adapters (see README.md, "Kernel variants").
const TM = 4;
const TN = 4;
const WG_X = 8;
const WG_Y = 8;
const BLOCK: BlockShape = { tm: TM, tn: TN, wgX: WG_X, wgY: WG_Y };

// The tiled variant stages TILE_M x TILE_K of A and TILE_K x TILE_N of B in workgroup memory per
// step, the classic layout discrete GPUs want (software adapters prefer the register-blocked ones).
// A workgroup's invocations cover the tile with their register blocks.
const TILE_M = TM * WG_Y;
const TILE_N = TN * WG_X;
const TILE_K = 16;

// The 'rows1' variant: each invocation computes 1 x TN of C, a workgroup 64 columns of one row.
// With a few rows (a matrix-vector product, one token of a sequence) the 4 x 4 blocks compute
// rows that do not exist and leave 7 of 8 invocations of a workgroup idle.
const ROWS1: BlockShape = { tm: 1, tn: TN, wgX: 64, wgY: 1 };

// The 'block16x8' variant, for software adapters: 16 x 8 blocks, 16 invocations a workgroup
// sharing their 16 rows. lavapipe runs 8 invocations as the lanes of one SIMD loop and, inside a
// loop, loads every lane's element separately (a branch per lane and component, even where all
// lanes read the same address): the loads, not the multiply-adds, bound the K loop, and a larger
// block amortises them over more of C. Measured on lavapipe (CPU time per run, alternating, at
// 1024^3 and 512^3): 16 x 8 about 1.8x faster than 4 x 4; 8 x 8 and 12 x 8 in between; 16 x 12,
// 32 x 8 and 24 x 8 slower (register spills); unrolling K, vec4 loads of A along K, and sharing
// A's loads across a subgroup with K unrolled (subgroupBroadcast of constant lanes: it spills) all
// measured slower or no faster. Sharing them with K a loop is shuffle16x8, below.
const BLOCK16X8: BlockShape = { tm: 16, tn: 8, wgX: 16, wgY: 1, sharedRows: true };

// The 'shuffle16x8' variant: block16x8 with A's loads shared across a subgroup. lavapipe (Mesa
// 25.0) treats a storage load as uniform only when its address comes from constants, so the 16
// A elements of a K step, the same for every invocation of the workgroup, cost 16 loads per lane:
// measured on lavapipe at 1024^3, they take over half of block16x8's time (141 ms a run; 63 ms
// with A's loads replaced by constants). Here lane l of a subgroup loads column k0 + l of each
// row, and each K step takes lane kk's value by subgroupShuffle (a register move on lavapipe): one
// load per row a subgroup's width of K steps (at 1024^3, 24.8 against 14.7 GFLOP/s for block16x8,
// `bench/matmul-variants.ts`, uploads included). Any subgroup size works: the K loop steps by it
// (by the workgroup's 16 invocations where a subgroup is wider, its lanes past them idle).
const SHUFFLE16X8: BlockShape = { ...BLOCK16X8, shuffleA: true };
// 'rows1' over a blockwise B of fewer than 8 bits: an invocation computes the columns of one word
// of codes (8 at 4 bits), loading it once. Loads, one per lane even where lanes share an address,
// bound lavapipe's K loop (a one-token 4-bit decoder: removing B's loads took a third of its
// time, A's a sixth). 16 invocations a workgroup, so a row of 768 columns is 6 workgroups for
// 2 cores, not 2.
const ROWS1_WORD: Omit<BlockShape, 'tn'> = { tm: 1, wgX: 16, wgY: 1, wordB: true };
const SHAPES: Partial<Record<MatmulVariant, BlockShape>> = { rows1: ROWS1, block16x8: BLOCK16X8, shuffle16x8: SHUFFLE16X8 };

/** The K loop of the tiled variant: cooperative loads into workgroup memory, then 4x4 blocks from it. */
function tiledProduct(loadB: (index: string, channel: string) => string): string[] {
  const L = [
    `  let li = lid.y * ${WG_X}u + lid.x;`,
    `  let rowT = wid.y * ${TILE_M}u;`,
    `  let colT = wid.x * ${TILE_N}u;`,
  ];
  for (let r = 0; r < TM; r++) L.push(`  var acc${r}_0 = vec4<f32>();`);
  L.push(
    `  for (var k0 = 0u; k0 < u.K; k0 += ${TILE_K}u) {`,
    `    for (var e = li; e < ${TILE_M * TILE_K}u; e += ${WG_X * WG_Y}u) {`,
    `      let ra = rowT + e / ${TILE_K}u;`,
    `      let ka = k0 + e % ${TILE_K}u;`,
    '      tA[e] = select(0.0, f32(A[aOff + min(ra, u.M - 1u) * u.aM + min(ka, u.K - 1u) * u.aK]), ra < u.M && ka < u.K);',
    `      let kb = k0 + e / ${TILE_N}u;`,
    `      let cb = colT + e % ${TILE_N}u;`,
    `      tB[e] = select(0.0, ${loadB('bOff + min(kb, u.K - 1u) * u.bK + min(cb, u.N - 1u) * u.bN', 'min(cb, u.N - 1u)')}, kb < u.K && cb < u.N);`,
    '    }',
    '    workgroupBarrier();',
    `    for (var kk = 0u; kk < ${TILE_K}u; kk++) {`,
    `      let bi = kk * ${TILE_N}u + lid.x * ${TN}u;`,
    '      let b = vec4<f32>(tB[bi], tB[bi + 1u], tB[bi + 2u], tB[bi + 3u]);',
  );
  for (let r = 0; r < TM; r++) L.push(`      acc${r}_0 += tA[(lid.y * ${TM}u + ${r}u) * ${TILE_K}u + kk] * b;`);
  L.push('    }', '    workgroupBarrier();', '  }');
  return L;
}


/**
 * The K loop of the register-blocked variants: acc{r}_{j} holds C's row row0 + r, columns
 * col0 + 4j .. col0 + 4j + 3. Out-of-range rows and columns read a clamped (valid) element and
 * are never written; `max` keeps the clamps in range for an empty C. `lastVec4`, where B is
 * loaded four columns at a time, is the first column of a row's last vec4 (WGSL).
 */
function blockProduct({ tm, tn, wgX, wgY, shuffleA, wordB }: BlockShape, lastVec4: string | undefined, B: WeightLoad): string[] {
  const vecB = lastVec4 !== undefined;
  const vecs = tn / 4;
  const L: string[] = [];
  for (let r = 0; r < tm; r++) L.push(`  let ar${r} = aOff + min(row0 + ${r}u, max(u.M, 1u) - 1u) * u.aM;`);
  // B's columns are its channels (int8 scales are per column); a vec4 past N reads the row's last four.
  if (vecB) {
    for (let j = 0; j < vecs; j++) L.push(`  let cb${j} = min(col0 + ${4 * j}u, ${lastVec4});`, `  let bc${j} = (bOff + cb${j}) / 4u;`);
    L.push('  let bStep = u.bK / 4u;');
  } else {
    for (let c = 0; c < tn; c++) L.push(`  let cb${c} = min(col0 + ${c}u, max(u.N, 1u) - 1u);`, `  let bc${c} = bOff + cb${c} * u.bN;`);
  }
  for (let r = 0; r < tm; r++) for (let j = 0; j < vecs; j++) L.push(`  var acc${r}_${j} = vec4<f32>();`);
  // A blockwise B loops over K by its blocks, loading each block's scales once; an int8 B's
  // scales hold down every row, loaded once before the loop (see WeightLoad.spans). The shuffled
  // variant's K loop steps by a subgroup's width, so only the latter fit it.
  const spans = vecB && (!shuffleA || B.spans?.rows === undefined) ? B.spans : undefined;
  const words = wordB ? spans?.words : undefined;
  const step: string[] = [];
  if (words) step.push(`let q = ${words.load('bc0 + bk')};`);
  for (let j = 0; j < vecs; j++) {
    if (words) step.push(`let b${j} = ${words.vec4(j, 'q')};`);
    else if (spans) step.push(`let b${j} = ${spans.vec4(j, `bc${j} + bk`)};`);
    else if (vecB) step.push(`let b${j} = ${B.vec4(`bc${j} + bk`, `cb${j}`, shuffleA ? 'k0 + kk' : 'k')};`);
    else step.push(`let b${j} = vec4<f32>(${[0, 1, 2, 3].map((c) => B.at(`bc${4 * j + c} + bk`, `cb${4 * j + c}`)).join(', ')});`);
  }
  for (let r = 0; r < tm; r++) {
    step.push(`let a${r} = ${shuffleA ? `subgroupShuffle(av${r}, kk)` : `f32(A[ar${r} + ak])`};`);
    for (let j = 0; j < vecs; j++) step.push(`acc${r}_${j} += a${r} * b${j};`);
  }
  step.push(`bk += ${vecB ? 'bStep' : 'u.bK'};`);
  const declared = (row: string, indent: string) => Array.from({ length: vecs }, (_, j) => spans!.declare(j, row, `cb${j}`)).flat().map((x) => indent + x);
  if (spans?.rows !== undefined) {
    L.push('  var ak = 0u;', '  var bk = 0u;', `  for (var k0 = 0u; k0 < u.K; k0 += ${spans.rows}u) {`, ...declared('k0', '    '),
      `    for (var k = k0; k < min(k0 + ${spans.rows}u, u.K); k++) {`, ...step.map((x) => `      ${x}`), '      ak += u.aK;', '    }', '  }');
    return L;
  }
  if (spans) L.push(...declared('0u', '  '));
  if (!shuffleA) {
    L.push('  var ak = 0u;', '  var bk = 0u;', '  for (var k = 0u; k < u.K; k++) {', ...step.map((x) => `    ${x}`), '    ak += u.aK;', '  }');
    return L;
  }
  // Lane l holds column k0 + l of A's rows (clamped past K: loaded, never used); lanes past the
  // workgroup's invocations (a subgroup wider than it) hold nothing.
  L.push(`  let chunk = min(sgSize, ${wgX * wgY}u);`, '  var bk = 0u;', '  for (var k0 = 0u; k0 < u.K; k0 += chunk) {', '    let ak = min(k0 + sgLane, u.K - 1u) * u.aK;');
  for (let r = 0; r < tm; r++) L.push(`    let av${r} = f32(A[ar${r} + ak]);`);
  L.push('    let steps = min(chunk, u.K - k0);', '    for (var kk = 0u; kk < steps; kk++) {', ...step.map((x) => `      ${x}`), '    }', '  }');
  return L;
}

/**
 * The K loop of 'rows1' where A's row and B's columns both run along K in aligned vec4s (B stored
 * [N, K]: a one-row product's weight, align-weights.ts; an int8 one, quantize-weights.ts): each
 * of an invocation's TN columns is a dot product, four K steps a load of each operand, an int8
 * column's scale applied once after its sum. Measured on lavapipe (one row, 768 x 2304 f32 and
 * 768 x 3072 int8, a dozen weights in turn, so none stays cached): f32 2.0-2.3 ms against 3.8-4.6,
 * int8 0.98 against 2.2, for B stored [K, N] and read a row of four columns a step, whose K
 * steps stride a whole row apart.
 */
function dotProduct(B: WeightLoad): string[] {
  const { unscaled, scale } = B.run!;
  const L = ['  let ar = (aOff + row0 * u.aM) / 4u;'];
  for (let c = 0; c < TN; c++) {
    L.push(`  let cb${c} = min(col0 + ${c}u, max(u.N, 1u) - 1u);`, `  let bc${c} = (bOff + cb${c} * u.bN) / 4u;`, `  var s${c} = vec4<f32>();`);
  }
  L.push('  for (var k = 0u; k < u.K / 4u; k++) {', '    let a = vec4<f32>(A[ar + k]);');
  for (let c = 0; c < TN; c++) L.push(`    s${c} += a * ${unscaled(`bc${c} + k`)};`);
  const sum = (c: number) => `dot(s${c}, vec4<f32>(1.0))${scale ? ` * ${scale(`cb${c}`)}` : ''}`;
  L.push('  }', `  let acc0_0 = vec4<f32>(${Array.from({ length: TN }, (_, c) => sum(c)).join(', ')});`);
  return L;
}

/**
 * Register-blocked batched matmul C[b] = A[b] x B[b], accumulating in f32; optionally with
 * transposed operands and a Gemm epilogue alpha * A x B + beta * bias. Without those options
 * the WGSL is exactly the plain matmul's.
 */
export function emitMatmul(spec: MatmulKernelSpec): EmittedKernel {
  const batch = dNumel(spec.batchShape);
  if (dimRange(batch)[1] > MAX_WORKGROUPS_PER_DIMENSION) throw new KilnError(`${spec.name}: batch of ${dimText(batch)} matrices exceeds one dispatch (${MAX_WORKGROUPS_PER_DIMENSION})`);
  const m = new KernelModule();
  const u = m.uniforms.scalar('M', spec.m).scalar('N', spec.n).scalar('K', spec.k);
  if (spec.alpha !== undefined) u.f32('alpha', spec.alpha);
  if (spec.bias) u.f32('beta', spec.bias.beta).scalar('biasRow', spec.bias.rowStride).scalar('biasCol', spec.bias.colStride);
  // Operand layouts are uniforms, so plain, transposed and strided (view) operands share a shader.
  const a = spec.aLayout ?? {
    offset: 0, batchStrides: spec.aBatchStrides, outer: spec.transA ? 1 : spec.k, inner: spec.transA ? spec.m : 1,
  };
  const b = spec.bLayout ?? {
    offset: 0, batchStrides: spec.bBatchStrides, outer: spec.transB ? 1 : spec.n, inner: spec.transB ? spec.k : 1,
  };
  u.scalar('aOff', a.offset).scalar('aM', a.outer).scalar('aK', a.inner).scalar('bOff', b.offset).scalar('bK', b.outer).scalar('bN', b.inner);
  // B's four columns of a block are one aligned vec4 when its rows are contiguous and 4-aligned:
  // one load instead of four (measured ~15% faster on lavapipe at 1024^3). Where N is not a
  // multiple of 4, B's rows must be longer, padded to one (a weight read through a slice of its
  // first N columns, align-weights.ts): a row's last vec4 reads columns past N, never stored.
  const tiled = spec.variant === 'tiled';
  const padded = typeof spec.n === 'number' && typeof b.outer === 'number' && b.outer >= Math.ceil(spec.n / 4) * 4;
  // Runs of an operand along `stride` start at multiples of `c` elements.
  const runsAligned = (l: MatmulOperandLayout, stride: Dim, c: number) => [l.offset, stride, ...l.batchStrides].every((x) => dIsMultiple(x, c));
  const rowsAligned = (c: number) => runsAligned(b, b.outer, c);
  const vecB = !['scalar', 'tiled'].includes(spec.variant ?? 'vec4b') && b.inner === 1 && (dIsMultiple(spec.n, 4) || padded) && rowsAligned(4);
  // One row over a B whose columns run along K, float or int8 with a scale a column (WeightLoad.run):
  // dot products along K (dotProduct), A's row and B's columns read as aligned vec4s.
  const runsOfB = !spec.bStored || (!('bits' in spec.bStored) && spec.bStored.inner !== 1);
  const dots = spec.variant === 'rows1' && runsOfB && dIsMultiple(spec.k, 4) && a.inner === 1 && b.outer === 1 && runsAligned(a, a.outer, 4) && runsAligned(b, b.inner, 4);
  if (spec.bStored && !('bits' in spec.bStored) && spec.bStored.channels !== spec.n) throw new Error(`internal: ${spec.name}: an int8 B needs one scale per column`);
  const readA = () => (dots ? m.readVec4('A', spec.aDType ?? spec.dtype, spec.sources.a) : m.read('A', spec.aDType ?? spec.dtype, spec.sources.a));
  if (!spec.bFirst) readA();
  const B = declareWeight(m, 'B', spec.dtype, spec.sources.b, spec.bStored, vecB || dots);
  if (spec.bFirst) readA();
  const words = spec.variant === 'rows1' && vecB ? B.spans?.words : undefined;
  const shape = words && words.columns > TN && dIsMultiple(spec.n, words.columns) && rowsAligned(words.columns)
    ? { ...ROWS1_WORD, tn: words.columns } : SHAPES[spec.variant ?? 'vec4b'] ?? BLOCK;
  const { tm, tn, wgX, wgY } = shape;
  const br = spec.batchShape.length;
  if (br) u.array('bshape', spec.batchShape).array('sa', a.batchStrides).array('sb', b.batchStrides);
  const L: string[] = [];
  L.push(`  let col0 = gid.x * ${tn}u;`, `  let row0 = ${shape.sharedRows ? 'wid' : 'gid'}.y * ${tm}u;`);
  // The tiled variant's invocations all reach its barriers; so do the shared-rows ones (an early
  // return makes lavapipe mask the rest of the kernel); the others leave at once.
  if (!tiled && !shape.sharedRows) L.push('  if (row0 >= u.M || col0 >= u.N) { return; }');
  L.push('  var aOff = u.aOff;', '  var bOff = u.bOff;');
  if (br) {
    L.push(...unravel('gid.z', br, 'u_bshape', [{ name: 'ba', strides: 'u_sa' }, { name: 'bb', strides: 'u_sb' }]), '  aOff += ba;', '  bOff += bb;');
  }
  // The first column of the last vec4 of a row, where a block's columns are clamped to read.
  const lastVec4 = dIsMultiple(spec.n, 4) ? 'max(u.N, 4u) - 4u' : '((u.N + 3u) & ~3u) - 4u';
  L.push(...(tiled ? tiledProduct(B.at) : dots ? dotProduct(B) : blockProduct(shape, vecB ? lastVec4 : undefined, B)));
  L.push('  let cOff = gid.z * u.M * u.N;');
  if (spec.alpha !== undefined) L.push('  let alpha = bitcast<f32>(u.alpha);');
  if (spec.bias) L.push('  let beta = bitcast<f32>(u.beta);');
  // The value stored at (row0 + r, col0 + c).
  const epilogue = (r: number, c: number) => {
    let v = `acc${r}_${c >> 2}[${c & 3}]`;
    if (spec.alpha !== undefined) v = `alpha * ${v}`;
    if (spec.bias) v = `${v} + beta * f32(bias[(row0 + ${r}u) * u.biasRow + (col0 + ${c}u) * u.biasCol])`;
    return v;
  };
  if (spec.bias) m.read('bias', spec.dtype, spec.sources.bias!);
  const store = declareOutput(m, spec.epilogue, spec.dtype, spec.sources.out, 'C');
  for (let r = 0; r < tm; r++) {
    L.push(`  if (row0 + ${r}u < u.M) {`);
    for (let c = 0; c < tn; c++) L.push(`    if (col0 + ${c}u < u.N) { ${store(`cOff + (row0 + ${r}u) * u.N + col0 + ${c}u`, epilogue(r, c))} }`);
    L.push('  }');
  }
  if (tiled) m.declare(`var<workgroup> tA: array<f32, ${TILE_M * TILE_K}>;`, `var<workgroup> tB: array<f32, ${TILE_K * TILE_N}>;`);
  const groups = (d: Dim, per: number): Dim => (typeof d === 'number' ? Math.max(1, Math.ceil(d / per)) : dCeilDiv(d, per));
  const workgroups: [Dim, Dim, Dim] = [groups(spec.n, tn * wgX), groups(spec.m, tm * wgY), groups(batch, 1)];
  const builtins = `@builtin(global_invocation_id) gid: vec3<u32>${tiled ? ', @builtin(local_invocation_id) lid: vec3<u32>' : ''}${tiled || shape.sharedRows ? ', @builtin(workgroup_id) wid: vec3<u32>' : ''}${shape.shuffleA ? ', @builtin(subgroup_invocation_id) sgLane: u32, @builtin(subgroup_size) sgSize: u32' : ''}`;
  if (shape.shuffleA) m.enable('subgroups');
  return m.kernel(spec.name, { workgroupSize: `${wgX}, ${wgY}, 1`, builtins, body: L }, workgroups);
}
