import { KilnError } from '../../ir/errors.js';
import { dCeilDiv, dimRange, dMul, type Dim } from '../../ir/size-expr.js';
import { biasTerm, convModule, f32Vec, lane, rowVec4Io, type ConvKernelGeometry, type ConvKernelSpec, type ConvModule } from './conv-common.js';
import { rowColumns, type RowColumns, windowOffsets } from './conv-row-columns.js';
import type { EmittedKernel } from './kernel.js';
import { MAX_WORKGROUPS_PER_DIMENSION as MAX_GROUPS } from '../wgsl.js';
import type { WeightLoad } from './weight-load.js';

// Convolution by output rows, for adapters that run a workgroup's invocations as SIMD loops on a
// CPU (lavapipe, SwiftShader). A workgroup is one output row of one block of output channels: its
// batch, group, channels and row come from the workgroup id, so everything but the output column is
// the same for all invocations. The row bounds checks and the loops are then uniform (padded rows
// are skipped with a plain branch), and every lane reads the same weights with no division to find
// them; lavapipe (Mesa 25.0) still loads such a weight once per lane, which the shared-weight loop
// below avoids where subgroups are offered. The lanes run along the output columns, each invocation
// computing `pixels` adjacent columns times `channels` output channels. The window shape (kernel
// size, stride, dilation, padding) is compiled in, so the taps are unrolled and each input column a
// row's taps need is loaded once and reused by every tap and output column that reads it (a 5x5
// depthwise tap row of 4 outputs loads 8 values for 20 FMAs).

/** Register blocking of the row kernel. */
export interface RowsConvBlocking {
  /**
   * Load each weight once a subgroup: lane l loads input channel c0 + l's weights and every input
   * channel's step takes them from its lane by subgroupShuffle (needs `subgroups`; see SHARED_WEIGHTS).
   */
  readonly shareWeights?: boolean;
  /** Output channels of one group per invocation (1 to 16: in f32 vectors of up to 4). */
  readonly channels: number;
  /** Adjacent output columns per invocation. */
  readonly pixels: number;
  /** Invocations of a workgroup, along the output columns. */
  readonly lanes: number;
}

/** Taps beyond which unrolling a window would make the shader too long to be worth it. */
export const MAX_ROW_TAPS = 49;

// Weights shared across a subgroup. lavapipe (Mesa 25.0) treats a storage load as uniform only
// when its address comes from constants, so a weight every invocation of the workgroup reads
// costs a load per lane, and an invocation's channels x taps weights per input channel outnumber
// its input loads. With shared weights, the window's rows are a loop; for each row, lane l loads
// input channel c0 + l's weights of that row, and the steps over a subgroup's width of input
// channels take them by subgroupShuffle (a register move on lavapipe). Every lane holds a row's
// channels x taps of them, hence the limit. Binding the weights as a uniform buffer does not make
// the same-address load cheap either: a 16-channel 1x1 loop over 200 input channels and 6144
// pixels ran at 3.3-4.9 GFLOP/s with storage loads, 5.1-7.9 from a uniform buffer, 10.5-16.7 with
// shuffles (scalar or vec4 shuffles alike), minima of 9 timed passes in two runs.
/** Weights (output channels x taps of a window row) an invocation may hold when they are shared across a subgroup. */
export const MAX_SHARED_WEIGHTS = 24;

/** A block of `TO` output channels as accumulator vectors: channel c is lane c % 4 of vector c / 4 (`Q`), vector q `width(q)` wide. */
export function channelQuads(TO: number): { readonly Q: readonly number[]; readonly width: (q: number) => number } {
  return { Q: Array.from({ length: Math.ceil(TO / 4) }, (_, q) => q), width: (q) => Math.min(4, TO - 4 * q) };
}

/** Declares the accumulators `acc<p>_<q>` of `TP` output columns by the channel vectors of `quads`, zeroed. */
export function accumulators(TP: number, quads: ReturnType<typeof channelQuads>, indent = '  '): string[] {
  return Array.from({ length: TP }, (_, p) => quads.Q.map((q) => `${indent}var acc${p}_${q} = ${f32Vec(quads.width(q))}();`)).flat();
}

/** Output-channel blocks of a geometry under a blocking. */
function channelBlocks(g: ConvKernelGeometry, b: RowsConvBlocking): number {
  return g.groups * Math.ceil(g.outPerGroup / b.channels);
}

/** Whether a row kernel's grid (see rowKernel) fits a dispatch at the largest sizes. */
export function rowGridFits(g: ConvKernelGeometry, b: RowsConvBlocking): boolean {
  const max = (d: Dim) => dimRange(d)[1];
  return max(g.outH) <= MAX_GROUPS && max(g.batch) * channelBlocks(g, b) <= MAX_GROUPS && Math.ceil(max(g.outW) / (b.lanes * b.pixels)) <= MAX_GROUPS;
}

/** Whether the row kernel serves a convolution: a window it can unroll, and a grid that fits a dispatch. */
export function convRowsApplies(g: ConvKernelGeometry, b: RowsConvBlocking): boolean {
  return g.kernelH * g.kernelW <= MAX_ROW_TAPS && rowGridFits(g, b) && (!b.shareWeights || g.kernelW * b.channels <= MAX_SHARED_WEIGHTS);
}

/** The row-by-row convolution (any groups), with the spec's bias, input view, conversion, input scale and epilogue. */
export function emitConvRows(spec: ConvKernelSpec, blocking: RowsConvBlocking): EmittedKernel {
  const { channels: TO, pixels: TP, lanes: WG } = blocking;
  const g = spec.geometry;
  if (TO < 1 || TO > 16 || TP < 1) throw new KilnError(`${spec.name}: unsupported conv blocking ${TO}x${TP}`);
  if (!convRowsApplies(g, blocking)) throw new KilnError(`${spec.name}: the row convolution needs at most ${MAX_ROW_TAPS} taps (${MAX_SHARED_WEIGHTS} weights of a window row an invocation when shared) and a grid of at most ${MAX_GROUPS} workgroups a side`);
  const oBlocks = Math.ceil(g.outPerGroup / TO);
  const io = rowVec4Io(spec, TP);
  const mod = convModule(spec, { oBlocks, groupBlocks: g.groups * oBlocks }, io);
  const quads = channelQuads(TO);
  const { Q, width } = quads;
  const KK = g.kernelH * g.kernelW;
  // The input columns, relative to the first output column's window start, that the invocation's
  // taps read: output column p at tap kw reads offset p * sw + kw * dw.
  const offset = (p: number, kw: number) => p * g.strideW + kw * g.dilationW;
  const offsets = windowOffsets(TP, g.kernelW, offset);
  const L: string[] = [];
  L.push('  let gb = wid.z % u.groupBlocks;', '  let n = wid.z / u.groupBlocks;');
  L.push('  let grp = gb / u.oBlocks;', `  let oc0 = (gb % u.oBlocks) * ${TO}u;`, '  let oh = wid.y;');
  L.push(`  let ow0 = (wid.x * ${WG}u + lid.x) * ${TP}u;`);
  // Channels past the group's end read a valid row (clamped) and are never stored.
  for (let c = 0; c < TO; c++) L.push(`  let ch${c} = grp * u.Og + min(oc0 + ${c}u, u.Og - 1u);`, `  let w${c} = ch${c} * u.Cg * ${KK}u;`);
  L.push('  let H = i32(u.H);', '  let W = i32(u.W);');
  const columns = rowColumns(g, offsets, io.x === true);
  L.push(...columns.setup);
  L.push('  let xg = u.xOff + n * u.xsN + grp * u.Cg * u.xsC;');
  L.push(...accumulators(TP, quads));
  // A per-channel input scale (a gate fused in front) multiplies the values as they load.
  const scale = spec.inputScale ? ' * f32(xs[n * u.xsB + grp * u.Cg + ci])' : '';
  L.push(...(blocking.shareWeights ? sharedWeightsLoop : ownWeightsLoop)(g, { TO, TP, WG, Q, width, columns, offset, scale, wt: mod.wt }));
  return rowKernel(mod, spec, blocking, io.out === true, L);
}

/** What the input-channel loops of the row kernel share with its set-up. */
export interface RowLoop {
  /** Output channels of the block (TO), output columns of an invocation (TP), invocations of the workgroup (WG). */
  readonly TO: number;
  readonly TP: number;
  readonly WG: number;
  /** Accumulator vectors (channels 4q..4q+3) and each one's width. */
  readonly Q: readonly number[];
  readonly width: (q: number) => number;
  /** How a tap row's input columns load, and the one output column p reads at tap kw (relative to the window start). */
  readonly columns: RowColumns;
  readonly offset: (p: number, kw: number) => number;
  /** The input scale's factor on a loaded value ('' without one). */
  readonly scale: string;
  readonly wt: WeightLoad;
}

/** One tap row of input channel `ci`'s row `xr`: its input columns loaded once, then each tap's FMAs with `weight(c, kw)`. */
export function tapRow(g: ConvKernelGeometry, r: RowLoop, weight: (c: number, kw: number) => string, indent: string): string[] {
  const L: string[] = [];
  L.push(...r.columns.load(indent, r.scale));
  for (let kw = 0; kw < g.kernelW; kw++) {
    for (const q of r.Q) {
      const cs = Array.from({ length: r.width(q) }, (_, i) => 4 * q + i);
      L.push(`${indent}let wv${kw}_${q} = ${f32Vec(r.width(q))}(${cs.map((c) => weight(c, kw)).join(', ')});`);
      for (let p = 0; p < r.TP; p++) L.push(`${indent}acc${p}_${q} += v${r.offset(p, kw)} * wv${kw}_${q};`);
    }
  }
  return L;
}

/** The input channels one by one, the window's rows unrolled, each invocation loading its own weights. */
function ownWeightsLoop(g: ConvKernelGeometry, r: RowLoop): string[] {
  const KK = g.kernelH * g.kernelW;
  const L = ['  for (var ci = 0u; ci < u.Cg; ci++) {', '    let xc = xg + ci * u.xsC;', `    let wc = ci * ${KK}u;`];
  for (let kh = 0; kh < g.kernelH; kh++) {
    L.push(`    let ih${kh} = i32(oh * ${g.strideH}u) + ${kh * g.dilationH - g.padTop};`, `    if (ih${kh} >= 0 && ih${kh} < H) {`);
    L.push(`      let xr = xc + u32(ih${kh}) * u.xsH;`);
    L.push(...tapRow(g, r, (c, kw) => r.wt.at(`w${c} + wc + ${kh * g.kernelW + kw}u`, `ch${c}`), '      '));
    L.push('    }');
  }
  L.push('  }');
  return L;
}

/**
 * The input channels a subgroup's width at a time (SHARED_WEIGHTS), the window's rows a loop: for
 * each row, lane l loads input channel c0 + l's weights of that row, and each input channel's step
 * takes them from its lane.
 */
export function sharedWeightsLoop(g: ConvKernelGeometry, r: RowLoop): string[] {
  const KK = g.kernelH * g.kernelW;
  // Lanes past the workgroup's invocations (a subgroup wider than it) hold nothing.
  const L = [`  let chunk = min(sgSize, ${r.WG}u);`, '  for (var c0 = 0u; c0 < u.Cg; c0 += chunk) {', `    let wl = min(c0 + sgLane, u.Cg - 1u) * ${KK}u;`, '    let steps = min(chunk, u.Cg - c0);'];
  L.push(`    for (var kh = 0u; kh < ${g.kernelH}u; kh++) {`, `      let ih = i32(oh * ${g.strideH}u + kh * ${g.dilationH}u) - ${g.padTop};`, '      if (ih < 0 || ih >= H) { continue; }');
  L.push(`      let wk = wl + kh * ${g.kernelW}u;`);
  for (let c = 0; c < r.TO; c++) for (let kw = 0; kw < g.kernelW; kw++) L.push(`      let sw${c}_${kw} = ${r.wt.at(`w${c} + wk + ${kw}u`, `ch${c}`)};`);
  L.push('      for (var cs = 0u; cs < steps; cs++) {', '        let ci = c0 + cs;', '        let xr = xg + ci * u.xsC + u32(ih) * u.xsH;');
  L.push(...tapRow(g, r, (c, kw) => `subgroupShuffle(sw${c}_${kw}, cs)`, '        '));
  L.push('      }', '    }', '  }');
  return L;
}

/**
 * A row kernel (this one or the transposed one) from its body `L`, which leaves accumulators
 * `acc<p>_<q>` (output column p, channels 4q..4q+3 of the block at `oc0`) for output row `oh`
 * from column `ow0` of batch `n` and group `grp`: stores them (channels and columns past the end
 * skipped; four columns a store with `vec4Out`, see rowVec4Io) and dispatches a workgroup per
 * output row and channel block.
 */
export function rowKernel(mod: ConvModule, spec: ConvKernelSpec, blocking: RowsConvBlocking, vec4Out: boolean, L: string[]): EmittedKernel {
  const { channels: TO, pixels: TP, lanes: WG } = blocking;
  const g = spec.geometry;
  const m = mod.m;
  L.push('  let ostride = u.OH * u.OW;', '  let o0 = grp * u.Og + oc0;', '  let obase = (n * u.O + o0) * ostride + oh * u.OW + ow0;');
  const value = (c: number, p: number) => `${lane(`acc${p}_${c >> 2}`, Math.min(4, TO - 4 * (c >> 2)), c & 3)}${biasTerm(spec, `o0 + ${c}u`)}`;
  for (let c = 0; c < TO; c++) {
    L.push(`  if (oc0 + ${c}u < u.Og) {`);
    if (vec4Out) {
      for (let p = 0; p < TP; p += 4) L.push(`    if (ow0 + ${p}u < u.OW) { ${mod.store4(`obase + ${c}u * ostride + ${p}u`, [0, 1, 2, 3].map((k) => value(c, p + k)))} }`);
    } else {
      for (let p = 0; p < TP; p++) L.push(`    if (ow0 + ${p}u < u.OW) { ${mod.store(`obase + ${c}u * ostride + ${p}u`, value(c, p))} }`);
    }
    L.push('  }');
  }
  const builtins = `@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>${blocking.shareWeights ? ', @builtin(subgroup_invocation_id) sgLane: u32, @builtin(subgroup_size) sgSize: u32' : ''}`;
  if (blocking.shareWeights) m.enable('subgroups');
  const columns = (d: Dim): Dim => (typeof d === 'number' ? Math.max(1, Math.ceil(d / (WG * TP))) : dCeilDiv(d, WG * TP));
  return m.kernel(spec.name, { workgroupSize: WG, builtins, body: L }, [columns(g.outW), g.outH, dMul(g.batch, channelBlocks(g, blocking))]);
}
