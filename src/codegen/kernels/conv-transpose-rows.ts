import { KilnError } from '../../ir/errors.js';
import { convModule, f32Vec, rowVec4Io, type ConvKernelGeometry, type ConvKernelSpec } from './conv-common.js';
import type { EmittedKernel } from './kernel.js';
import { accumulators, channelQuads, MAX_ROW_TAPS, rowGridFits, rowKernel, type RowsConvBlocking } from './conv-rows.js';
import { MAX_WORKGROUPS_PER_DIMENSION } from '../wgsl.js';

// Transposed convolution by output rows, for adapters that run a workgroup's invocations as SIMD
// loops on a CPU (see conv-rows.ts, whose layout this follows): a workgroup is one output row of
// one block of output channels, so every lane reads the same weights (with no division to find
// them; lavapipe still loads them per lane) and the taps valid for the row are a uniform branch.
// Each invocation computes a run of `pixels` adjacent output columns starting at a multiple of the
// stride, so which taps reach each of its columns, and which input column each reads, are known
// when the shader is generated: the W window (kernel, stride, dilation, left padding) is compiled
// in and its taps unrolled, and an input value loaded once feeds every tap and output column it
// reaches (a 2x2 stride-2 layer: one value, two columns, no tap tested or skipped at run time).

/** Register blocking of the transposed row kernel, as the row kernel's (its pixels a multiple of the W stride). */
export type RowsTransposeBlocking = RowsConvBlocking;

/**
 * Blocking: up to 8 output channels, and about 8 columns (16 for 4 channels or fewer), rounded
 * to whole strides, so that at most 64 accumulators are live.
 */
export function transposeRowsBlocking(g: ConvKernelGeometry): RowsTransposeBlocking {
  const channels = Math.min(8, g.outPerGroup);
  const budget = channels > 4 ? 8 : 16;
  const pixels = g.strideW * Math.max(1, Math.floor(budget / g.strideW));
  return { channels, pixels, lanes: 8 };
}

/** Whether the transposed row kernel serves a geometry: a window it can unroll, and a grid that fits a dispatch. */
export function convTransposeRowsApplies(g: ConvKernelGeometry, b: RowsTransposeBlocking): boolean {
  return g.kernelH * g.kernelW <= MAX_ROW_TAPS && b.pixels % g.strideW === 0 && rowGridFits(g, b);
}

/** Exact floor division of integers (the tap arithmetic may go negative). */
const floorDiv = (a: number, b: number) => Math.floor(a / b);

/** The transposed convolution by output rows (any groups), with the spec's bias and epilogue; x is read as stored. */
export function emitConvTransposeRows(spec: ConvKernelSpec, blocking: RowsTransposeBlocking): EmittedKernel {
  const { channels: TO, pixels: TP, lanes: WG } = blocking;
  const g = spec.geometry;
  if (TO < 1 || TO > 16 || TP < 1) throw new KilnError(`${spec.name}: unsupported conv_transpose2d blocking ${TO}x${TP}`);
  if (!convTransposeRowsApplies(g, blocking)) throw new KilnError(`${spec.name}: the row conv_transpose2d needs at most ${MAX_ROW_TAPS} taps, whole strides of columns and a grid of at most ${MAX_WORKGROUPS_PER_DIMENSION} workgroups a side`);
  const oBlocks = Math.ceil(g.outPerGroup / TO);
  const vec4Out = rowVec4Io(spec, blocking.pixels).out === true;
  const mod = convModule(spec, { oBlocks, groupBlocks: g.groups * oBlocks }, { out: vec4Out });
  const { wt } = mod;
  const sw = g.strideW;
  const quads = channelQuads(TO);
  const { Q, width } = quads;
  const C = Array.from({ length: TO }, (_, c) => c);
  const KK = g.kernelH * g.kernelW;
  // Output column ow0 + p (ow0 a multiple of sw) takes tap kw from input column
  // (ow0 + p + pl - kw * dw) / sw = ow0 / sw + d when p + pl - kw * dw is a multiple of sw.
  const reach = (p: number, kw: number) => {
    const t = p + g.padLeft - kw * g.dilationW;
    return ((t % sw) + sw) % sw === 0 ? floorDiv(t, sw) : undefined;
  };
  const taps = Array.from({ length: TP }, (_, p) => Array.from({ length: g.kernelW }, (_, kw) => ({ kw, d: reach(p, kw) })).filter((t) => t.d !== undefined));
  const offsets = [...new Set(taps.flat().map((t) => t.d!))].sort((a, b) => a - b);
  const name = (d: number) => (d < 0 ? `m${-d}` : `${d}`);

  const L: string[] = [];
  L.push('  let gb = wid.z % u.groupBlocks;', '  let n = wid.z / u.groupBlocks;');
  L.push('  let grp = gb / u.oBlocks;', `  let oc0 = (gb % u.oBlocks) * ${TO}u;`, '  let oh = wid.y;');
  L.push(`  let ow0 = (wid.x * ${WG}u + lid.x) * ${TP}u;`);
  // Channels past the group's end read a valid weight (clamped) and are never stored.
  for (const c of C) L.push(`  let w${c} = (grp * u.Cg * u.Og + min(oc0 + ${c}u, u.Og - 1u)) * ${KK}u;`);
  L.push('  let W = i32(u.W);', `  let iw0 = i32(ow0 / ${sw}u);`);
  // Each input column the taps read: whether it is inside the row, and its clamped index.
  for (const d of offsets) L.push(`  let in${name(d)} = iw0 + ${d} >= 0 && iw0 + ${d} < W;`, `  let col${name(d)} = u32(clamp(iw0 + ${d}, 0, W - 1));`);
  L.push('  let xg = u.xOff + n * u.xsN + grp * u.Cg * u.xsC;', '  let wci = u.Og * ' + `${KK}u;`);
  L.push(...accumulators(TP, quads));
  for (let kh = 0; kh < g.kernelH; kh++) {
    // Input row (oh + pt - kh * dh) / sh, when that divides exactly and falls inside x: the same for the whole workgroup.
    L.push(`  let th${kh} = i32(oh) + ${g.padTop - kh * g.dilationH};`);
    L.push(`  if (th${kh} >= 0 && th${kh} % ${g.strideH} == 0 && th${kh} / ${g.strideH} < i32(u.H)) {`);
    L.push(`    var xr = xg + u32(th${kh} / ${g.strideH}) * u.xsH;`, `    var wk = ${kh * g.kernelW}u;`);
    L.push('    for (var ci = 0u; ci < u.Cg; ci++) {');
    for (const d of offsets) L.push(`      let v${name(d)} = select(0.0, f32(x[xr + col${name(d)}]), in${name(d)});`);
    const used = [...new Set(taps.flat().map((t) => t.kw))].sort((a, b) => a - b);
    for (const kw of used) {
      for (const q of Q) {
        const cs = C.slice(4 * q, 4 * q + width(q));
        L.push(`      let wv${kw}_${q} = ${f32Vec(width(q))}(${cs.map((c) => wt.at(`w${c} + wk + ${kw}u`)).join(', ')});`);
      }
    }
    for (let p = 0; p < TP; p++) for (const t of taps[p]!) for (const q of Q) L.push(`      acc${p}_${q} += v${name(t.d!)} * wv${t.kw}_${q};`);
    L.push('      xr += u.xsC;', '      wk += wci;', '    }', '  }');
  }
  return rowKernel(mod, spec, blocking, vec4Out, L);
}
