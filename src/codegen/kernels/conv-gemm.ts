import { KilnError } from '../../ir/errors.js';
import { dCeilDiv, dimRange, dMul, type Dim } from '../../ir/size-expr.js';
import { biasTerm, convModule, type ConvKernelSpec } from './conv-common.js';
import type { EmittedKernel } from './kernel.js';
import { MAX_WORKGROUPS_PER_DIMENSION as MAX_GROUPS } from '../wgsl.js';

// Convolution as an implicit GEMM: C[m, o] = sum_k A[m, k] * B[k, o] with m an output pixel
// (n, oh, ow), o an output channel and k a tap (ci, kh, kw). A is the im2col matrix of x, never
// materialised: its elements are gathered from x as a tile is loaded. B is the weight tensor
// [O, Cin, KH, KW] read as B[k, o] = wt[o * K + k].
//
// A workgroup of 8x8 invocations computes a 32-pixel x 32-channel tile of C. Per step (one tap,
// 8 to 32 input channels) each invocation loads vec4s of the A tile (its 4 pixels at one input
// channel) and of the B tile (its 4 output channels at one input channel) into workgroup memory,
// then accumulates its 4-pixel x 4-channel register block from the tiles: every value loaded
// from memory feeds 32 FMAs in the workgroup instead of 4 to 8 in the direct kernel, and the
// im2col index arithmetic is done once per loaded element.

/** Invocations along each side of the 8x8 workgroup. */
const WG = 8;
/** Pixels and channels of one invocation's register block (one vec4 each). */
const BLOCK = 4;
/** Output pixels and output channels of a workgroup's tile. */
const TILE = WG * BLOCK;

/**
 * Input channels per step (8, 16 or 32): deeper steps mean fewer workgroup barriers per FMA, which
 * cost much where a workgroup runs on one CPU thread; never deeper than the channels to fill it.
 */
export function gemmDepth(inChannels: number): number {
  return inChannels >= 32 ? 32 : inChannels >= 16 ? 16 : WG;
}

/** Whether the implicit GEMM kernel serves `spec`: ungrouped, and few enough pixel tiles for one dispatch. */
export function convGemmApplies(spec: ConvKernelSpec): boolean {
  const g = spec.geometry;
  return g.groups === 1 && Math.ceil(dimRange(dMul(g.batch, g.outH, g.outW))[1] / TILE) <= MAX_GROUPS;
}

/** The implicit-GEMM convolution (groups = 1), with the spec's bias, input view, conversion, input scale and epilogue. */
export function emitConvGemm(spec: ConvKernelSpec, depth = gemmDepth(spec.geometry.inChannels)): EmittedKernel {
  const TK = depth;
  const J = Array.from({ length: TK / WG }, (_, j) => j);
  if (!convGemmApplies(spec)) throw new KilnError(`${spec.name}: the implicit GEMM convolution needs groups = 1 and at most ${MAX_GROUPS * TILE} output pixels`);
  const g = spec.geometry;
  const ohw = dMul(g.outH, g.outW);
  const pixels = dMul(g.batch, ohw);
  const K = g.inChannels * g.kernelH * g.kernelW;
  const { m, store, wt } = convModule(spec, { M: pixels, OHW: ohw, K, KHW: g.kernelH * g.kernelW });
  // Every weight read goes through this one function, which loads through the weight hook (f32,
  // f16 or int8 dequantized with output channel o's scale).
  m.declare(`fn weight(o: u32, k: u32) -> f32 {\n  return ${wt.at('o * u.K + k', 'o')};\n}`);
  m.declare(`var<workgroup> tA: array<vec4<f32>, ${TK * WG}>;`, `var<workgroup> tB: array<vec4<f32>, ${TK * WG}>;`);
  const P = Array.from({ length: BLOCK }, (_, p) => p);

  const L: string[] = [];
  // Invocation (lid.x, lid.y) computes pixels m0..m0+3 and channels o0..o0+3; it loads the A
  // tile's vec4 for those same pixels at tap lid.y, and the B tile's for those channels at tap lid.x.
  L.push(`  let m0 = wid.x * ${TILE}u + lid.x * ${BLOCK}u;`, `  let o0 = wid.y * ${TILE}u + lid.y * ${BLOCK}u;`);
  L.push('  let H = i32(u.H);', '  let W = i32(u.W);');
  // Each pixel's batch offset, top-left input row and column, and whether it exists (a clamped
  // pixel is computed but never stored).
  for (const p of P) {
    L.push(
      `  let mp${p} = min(m0 + ${p}u, u.M - 1u);`,
      `  let n${p} = mp${p} / u.OHW;`,
      `  let q${p} = mp${p} % u.OHW;`,
      `  let xb${p} = u.xOff + n${p} * u.xsN;`,
      `  let ih${p} = i32((q${p} / u.OW) * u.sh) - i32(u.pt);`,
      `  let iw${p} = i32((q${p} % u.OW) * u.sw) - i32(u.pl);`,
    );
  }
  for (const p of P) L.push(`  var acc${p} = vec4<f32>();`);
  // k runs over taps (kh, kw) outside and input channels inside, so a tap's rows, columns and
  // padding are worked out once per tap and a step's loads need no division (integer division
  // is slow on CPU-emulated adapters: no vector divide). One flat loop of steps, so the barriers
  // sit in a single loop; the tap advances when the channels run out.
  const tapSetup = (indent: string) => P.map((p) => [
    `${indent}row${p} = ih${p} + i32(kh * u.dh);`,
    `${indent}col${p} = iw${p} + i32(kw * u.dw);`,
    `${indent}in${p} = m0 + ${p}u < u.M && row${p} >= 0 && row${p} < H && col${p} >= 0 && col${p} < W;`,
    `${indent}xa${p} = xb${p} + u32(clamp(row${p}, 0, H - 1)) * u.xsH + u32(clamp(col${p}, 0, W - 1));`,
  ]).flat();
  L.push('  var kh = 0u;', '  var kw = 0u;', '  var tap = 0u;', '  var c0 = 0u;');
  for (const p of P) L.push(`  var row${p} = 0;`, `  var col${p} = 0;`, `  var in${p} = false;`, `  var xa${p} = 0u;`);
  L.push(...tapSetup('  '));
  L.push(`  let steps = u.KHW * ((u.C + ${TK - 1}u) / ${TK}u);`, '  for (var step = 0u; step < steps; step++) {');
  // A tile: input channel c0 + lid.y (+ 8j) of the four pixels at this tap, zero where padded or past C.
  for (const j of J) {
    L.push(`    let ca${j} = c0 + lid.y + ${j * WG}u;`, `    let cac${j} = min(ca${j}, u.C - 1u);`, `    let xc${j} = cac${j} * u.xsC;`);
    const scale = (p: number) => (spec.inputScale ? ` * f32(xs[n${p} * u.xsB + cac${j}])` : '');
    const aLanes = P.map((p) => `select(0.0, f32(x[xa${p} + xc${j}])${scale(p)}, in${p} && ca${j} < u.C)`);
    L.push(`    tA[(lid.y + ${j * WG}u) * ${WG}u + lid.x] = vec4<f32>(${aLanes.join(', ')});`);
  }
  // B tile: input channel c0 + lid.x (+ 8j) of the four output channels at this tap, zero past C or O.
  for (const j of J) {
    L.push(`    let cb${j} = c0 + lid.x + ${j * WG}u;`, `    let kb${j} = min(cb${j}, u.C - 1u) * u.KHW + tap;`);
    const bLanes = P.map((c) => `select(0.0, weight(min(o0 + ${c}u, u.O - 1u), kb${j}), cb${j} < u.C && o0 + ${c}u < u.O)`);
    L.push(`    tB[(lid.x + ${j * WG}u) * ${WG}u + lid.y] = vec4<f32>(${bLanes.join(', ')});`);
  }
  L.push('    workgroupBarrier();');
  L.push(`    for (var kk = 0u; kk < ${TK}u; kk++) {`, `      let a = tA[kk * ${WG}u + lid.x];`, `      let b = tB[kk * ${WG}u + lid.y];`);
  // acc_c holds channel o0 + c of the four pixels.
  for (const c of P) L.push(`      acc${c} += a * b[${c}];`);
  L.push('    }', '    workgroupBarrier();');
  L.push(`    c0 += ${TK}u;`, '    if (c0 >= u.C) {', '      c0 = 0u;', '      tap++;', '      kw++;', '      if (kw == u.KW) {', '        kw = 0u;', '        kh++;', '      }');
  L.push(...tapSetup('      '), '    }', '  }');
  // Store: out[n, o, q] for each existing pixel and channel.
  for (const p of P) {
    L.push(`  if (m0 + ${p}u < u.M) {`, `    let ob = n${p} * u.O * u.OHW + q${p};`);
    for (const c of P) L.push(`    if (o0 + ${c}u < u.O) { ${store(`ob + (o0 + ${c}u) * u.OHW`, `acc${c}[${p}]${biasTerm(spec, `o0 + ${c}u`)}`)} }`);
    L.push('  }');
  }
  const groups = (d: Dim): Dim => (typeof d === 'number' ? Math.max(1, Math.ceil(d / TILE)) : dCeilDiv(d, TILE));
  const builtins = '@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>';
  return m.kernel(spec.name, { workgroupSize: `${WG}, ${WG}, 1`, builtins, body: L }, [groups(pixels), groups(g.outChannels), 1]);
}
