import { KilnError } from '../../ir/errors.js';
import { dCeilDiv, dimRange, dMul, type Dim } from '../../ir/size-expr.js';
import { biasTerm, convModule, f32Vec, lane, rowVec4Io, type ConvKernelGeometry, type ConvKernelSpec } from './conv-common.js';
import { rowColumns, rowLoads, windowOffsets } from './conv-row-columns.js';
import type { EmittedKernel } from './kernel.js';
import { MAX_WORKGROUPS_PER_DIMENSION as MAX_GROUPS } from '../wgsl.js';

// Depthwise convolution by output rows, for adapters that run a workgroup's invocations as SIMD
// loops on a CPU (lavapipe). As in conv-rows.ts, a workgroup is one output row of one channel, its
// channel, row and batch from the workgroup id: the row bounds checks and the loops are uniform,
// and every lane reads the same weights (the flat depthwise kernel divides to find each lane's
// channel and gathers its weight). Unlike the row kernel, only a row
// of the window is unrolled (the rows are a loop) and one channel is computed, so the shader stays
// small and compiles fast.

// With `shareWeights` (the dwrowsg variant), the first taps of a window row are loaded once a
// subgroup: lane l loads tap l, and each tap takes it by subgroupShuffle, since lavapipe (Mesa 25.0)
// loads a same-address storage element once per lane (see SHARED_WEIGHTS in conv-rows.ts). WebGPU's
// subgroups have at least 4 lanes, so taps 0 to 3 are shared and any further ones loaded. PP-OCR
// cls's 5x5 depthwise layers took 0.34 to 0.42 ms instead of 0.37 to 0.48 (minima of 9 trials).

/** Taps of a window row shared across a subgroup (WebGPU's smallest subgroup size). */
const SHARED_TAPS = 4;

/**
 * Adjacent output columns an invocation computes, in f32 vectors of 4: 4, 8 or 12, whichever
 * covers the row's width with fewer input loads (see rowLoads), counting each workgroup's set-up
 * as 4 (see rowsBlocking in lower/conv.ts). A 5-tap row of 8 outputs loads 12 values for 40 FMAs,
 * of 4 outputs 8 for 20: PP-OCR cls's 5x5 depthwise layers at 96 wide took 0.33 to 0.41 ms
 * instead of 0.35 to 0.43 (minima of 5 trials, two runs each way). Read four columns at a time,
 * its 96-wide rows take 12 (one workgroup a row): its 200-channel layers took 0.14 to 0.15 ms
 * instead of 0.19 at 8 (minima of 9 trials).
 */
function pixelsOf(g: ConvKernelGeometry, vec4: boolean): number {
  const outW = dimRange(g.outW)[1];
  const cost = (p: number) => Math.ceil(outW / (LANES * p)) * (rowLoads(g, p, vec4) + 4);
  return [8, 12].reduce((best, p) => (cost(p) < cost(best) ? p : best), 4);
}

/** Invocations of a workgroup (one SIMD row of lavapipe's 8 lanes), along the output columns. */
const LANES = 8;

/** Whether the grid fits a dispatch: rows along y, channels times batch along z. */
export function convDepthwiseRowsApplies(spec: ConvKernelSpec): boolean {
  const g = spec.geometry;
  const max = (d: Dim) => dimRange(d)[1];
  return g.inPerGroup === 1 && g.groups > 1 && max(g.outH) <= MAX_GROUPS && max(g.batch) * g.outChannels <= MAX_GROUPS;
}

/** The row-by-row depthwise convolution, with the spec's bias, input view, conversion and epilogue. */
export function emitConvDepthwiseRows(spec: ConvKernelSpec, shareWeights = false): EmittedKernel {
  const g = spec.geometry;
  if (!convDepthwiseRowsApplies(spec)) throw new KilnError(`${spec.name}: the depthwise row kernel needs one input channel per group and a grid of at most ${MAX_GROUPS} workgroups a side`);
  const PIXELS = pixelsOf(g, rowVec4Io(spec, 4).x === true);
  const io = rowVec4Io(spec, PIXELS);
  const { m, store, store4, wt } = convModule(spec, {}, io);
  const V = f32Vec(4);
  const A = Array.from({ length: PIXELS / 4 }, (_, a) => a);
  const L: string[] = [];
  L.push('  let o = wid.z % u.O;', '  let n = wid.z / u.O;', '  let oh = wid.y;', `  let ow0 = (wid.x * ${LANES}u + lid.x) * ${PIXELS}u;`);
  // Output channel o of group o / Og reads input channel o / Og (channel multiplier Og).
  L.push('  let xc = u.xOff + n * u.xsN + (o / u.Og) * u.xsC;', '  let wo = o * u.KH * u.KW;');
  L.push('  let H = i32(u.H);', '  let W = i32(u.W);');
  // The input columns a row of taps reads, relative to the first output column's window start:
  // output column p at tap kw reads p * sw + kw * dw. Each is loaded once a row and reused by
  // every tap and output column that reads it (a 5-tap row of 4 outputs: 8 loads for 20 FMAs).
  const offset = (p: number, kw: number) => p * g.strideW + kw * g.dilationW;
  const offsets = windowOffsets(PIXELS, g.kernelW, offset);
  const inputColumns = rowColumns(g, offsets, io.x === true);
  L.push(...inputColumns.setup);
  for (const a of A) L.push(`  var acc${a} = ${V}();`);
  L.push('  for (var kh = 0u; kh < u.KH; kh++) {');
  L.push('    let ih = i32(oh * u.sh + kh * u.dh) - i32(u.pt);');
  L.push('    if (ih < 0 || ih >= H) { continue; }');
  L.push('    let xr = xc + u32(ih) * u.xsH;');
  L.push(`    let wr = wo + kh * ${g.kernelW}u;`);
  L.push(...inputColumns.load('    ', ''));
  const shared = shareWeights ? Math.min(SHARED_TAPS, g.kernelW) : 0;
  if (shared) L.push(`    let sw = ${wt.at(`wr + min(sgLane, ${shared - 1}u)`, 'o')};`);
  for (let kw = 0; kw < g.kernelW; kw++) {
    L.push(`    let w${kw} = ${kw < shared ? `subgroupShuffle(sw, ${kw}u)` : wt.at(`wr + ${kw}u`, 'o')};`);
    for (const a of A) L.push(`    acc${a} += ${V}(${Array.from({ length: 4 }, (_, p) => `v${offset(4 * a + p, kw)}`).join(', ')}) * w${kw};`);
  }
  L.push('  }');
  L.push('  let obase = ((n * u.O + o) * u.OH + oh) * u.OW + ow0;');
  const value = (p: number) => `${lane(`acc${p >> 2}`, 4, p & 3)}${biasTerm(spec, 'o')}`;
  if (io.out) for (const a of A) L.push(`  if (ow0 + ${4 * a}u < u.OW) { ${store4(`obase + ${4 * a}u`, [0, 1, 2, 3].map((k) => value(4 * a + k)))} }`);
  else for (let p = 0; p < PIXELS; p++) L.push(`  if (ow0 + ${p}u < u.OW) { ${store(`obase + ${p}u`, value(p))} }`);
  const builtins = `@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>${shareWeights ? ', @builtin(subgroup_invocation_id) sgLane: u32' : ''}`;
  if (shareWeights) m.enable('subgroups');
  const columns: Dim = typeof g.outW === 'number' ? Math.max(1, Math.ceil(g.outW / (LANES * PIXELS))) : dCeilDiv(g.outW, LANES * PIXELS);
  return m.kernel(spec.name, { workgroupSize: LANES, builtins, body: L }, [columns, g.outH, dMul(g.batch, g.outChannels)]);
}
