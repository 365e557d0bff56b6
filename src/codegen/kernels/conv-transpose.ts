import { biasTerm, CONV_WG, convModule, f32Vec, lane, type ConvKernelSpec } from './conv-common.js';
import { dCeilDiv, dimRange, dMul } from '../../ir/size-expr.js';
import type { EmittedKernel } from './kernel.js';

/** Output channels one conv_transpose2d invocation accumulates (one f32 vector). */
const MAX_CHANNELS = 4;
/** Output columns one invocation accumulates, sw apart. */
const MAX_PIXELS = 4;

/**
 * Transposed convolution as a gather: output pixel (oh, ow) receives input pixel (ih, iw)
 * through tap (kh, kw) when oh + pad_top - kh*dh = ih*sh (likewise for w); no atomics, unlike
 * the scatter form. Each invocation accumulates up to 4 output channels of one group times up
 * to 4 output columns spaced sw apart: such columns share the phase (ow + pad_left) mod sw, so
 * the same taps are valid for all of them and they read adjacent input columns. Taps are the
 * outer loops (their validity is worked out once); input channels the inner one.
 * Weights are [C, O/groups, KH, KW].
 */
export function emitConvTranspose(spec: ConvKernelSpec): EmittedKernel {
  const g = spec.geometry;
  const TO = Math.min(MAX_CHANNELS, g.outPerGroup);
  const colsPerPhase = dCeilDiv(g.outW, g.strideW);
  // For a width that varies, its largest value picks the blocking (any blocking is right at any width).
  const widest = dimRange(colsPerPhase)[1];
  const TP = widest >= 4 ? MAX_PIXELS : widest >= 2 ? 2 : 1;
  const oBlocks = Math.ceil(g.outPerGroup / TO);
  const colBlocks = dCeilDiv(colsPerPhase, TP);
  const total = dMul(g.batch, g.groups * oBlocks * g.strideW, g.outH, colBlocks);
  const { m, store, wt } = convModule(spec, { total, oBlocks, colBlocks, groupBlocks: g.groups * oBlocks });
  const vec = f32Vec(TO);

  const L: string[] = [];
  L.push(`  let col0 = (i % u.colBlocks) * ${TP}u;`, '  var r = i / u.colBlocks;');
  L.push('  let phase = r % u.sw;', '  r = r / u.sw;', '  let oh = r % u.OH;', '  r = r / u.OH;');
  L.push('  let gb = r % u.groupBlocks;', '  let n = r / u.groupBlocks;');
  L.push('  let grp = gb / u.oBlocks;', `  let oc0 = (gb % u.oBlocks) * ${TO}u;`);
  // Output column of pixel p is ow0 + p * sw.
  L.push('  let ow0 = phase + col0 * u.sw;');
  L.push('  let kk = u.KH * u.KW;', '  let plane = u.H * u.W;', '  let wci = u.Og * kk;');
  // Channels past the group's end read a valid weight (clamped) and are never stored.
  for (let c = 0; c < TO; c++) L.push(`  let w${c} = (grp * u.Cg * u.Og + min(oc0 + ${c}u, u.Og - 1u)) * kk;`);
  L.push('  let xg = (n * u.C + grp * u.Cg) * plane;');
  L.push('  let sh = i32(u.sh);', '  let sw = i32(u.sw);', '  let W = i32(u.W);');
  // Adding a multiple of sw keeps the phase arithmetic in u32 non-negative.
  L.push('  let wbias = phase + u.pl + u.sw * (u.KW - 1u) * u.dw;');
  for (let p = 0; p < TP; p++) L.push(`  var acc${p} = ${vec}();`);
  L.push('  for (var kh = 0u; kh < u.KH; kh++) {');
  L.push('    let th = i32(oh + u.pt) - i32(kh * u.dh);');
  L.push('    if (th < 0 || th % sh != 0 || th / sh >= i32(u.H)) { continue; }');
  L.push('    let xr = xg + u32(th / sh) * u.W;');
  L.push('    for (var kw = 0u; kw < u.KW; kw++) {');
  L.push('      if ((wbias - kw * u.dw) % u.sw != 0u) { continue; }');
  // Exact division: the numerator is a multiple of sw (possibly negative).
  L.push('      let iw0 = (i32(ow0 + u.pl) - i32(kw * u.dw)) / sw;');
  for (let p = 0; p < TP; p++) {
    L.push(`      let in${p} = iw0 + ${p} >= 0 && iw0 + ${p} < W;`, `      let xa${p} = xr + u32(clamp(iw0 + ${p}, 0, W - 1));`);
  }
  L.push('      var wk = kh * u.KW + kw;', '      var xo = 0u;');
  L.push('      for (var ci = 0u; ci < u.Cg; ci++) {');
  L.push(`        let wv = ${vec}(${Array.from({ length: TO }, (_, c) => wt.at(`w${c} + wk`)).join(', ')});`);
  for (let p = 0; p < TP; p++) L.push(`        acc${p} += select(0.0, f32(x[xa${p} + xo]), in${p}) * wv;`);
  L.push('        wk += wci;', '        xo += plane;');
  L.push('      }', '    }', '  }');
  L.push('  let ostride = u.OH * u.OW;', '  let o0 = grp * u.Og + oc0;', '  let obase = (n * u.O + o0) * ostride + oh * u.OW + ow0;');
  for (let c = 0; c < TO; c++) {
    L.push(`  if (oc0 + ${c}u < u.Og) {`);
    for (let p = 0; p < TP; p++) {
      const col = p === 0 ? '' : ` + ${p}u * u.sw`;
      L.push(`    if (ow0${col} < u.OW) { ${store(`obase + ${c}u * ostride${col}`, `${lane(`acc${p}`, TO, c)}${biasTerm(spec, `o0 + ${c}u`)}`)} }`);
    }
    L.push('  }');
  }

  return m.flat(spec.name, CONV_WG, 'u.total', total, L);
}
