import { KilnError } from '../../ir/errors.js';
import { dCeilDiv, dMul } from '../../ir/size-expr.js';
import { biasTerm, CONV_WG, convModule, f32Vec, lane, type ConvKernelSpec } from './conv-common.js';
import type { EmittedKernel } from './kernel.js';

/**
 * Which loop of the direct convolution is innermost. `channels`: loop over taps (kh, kw)
 * outside and input channels inside, so bounds checks and addresses are worked out once per
 * tap and the inner loop is loads and FMAs only (best when a group has many input channels).
 * `taps`: input channels outside and kw inside, each output channel's weights read in memory
 * order (best when there are few input channels, e.g. an RGB stem).
 */
export type DirectConvLoop = 'channels' | 'taps';

/** Register blocking and loop order of the direct convolution. */
export interface DirectConvBlocking {
  /** Output channels per invocation (1 to 4: one f32 vector lane each). */
  readonly channels: number;
  /** Adjacent output columns per invocation. */
  readonly pixels: number;
  readonly innerLoop: DirectConvLoop;
}

/**
 * Direct convolution, register-blocked: each invocation accumulates `channels` output channels
 * of one group times `pixels` adjacent output columns, so every input value loaded feeds
 * `channels` FMAs and every weight `pixels`. Neighbouring invocations are neighbouring column
 * blocks of one output row, so a workgroup shares its weights and reads adjacent input.
 */
export function emitConvDirect(spec: ConvKernelSpec, blocking: DirectConvBlocking): EmittedKernel {
  const { channels: TO, pixels: TP } = blocking;
  if (TO < 1 || TO > 4 || TP < 1) throw new KilnError(`${spec.name}: unsupported conv blocking ${TO}x${TP}`);
  const g = spec.geometry;
  const oBlocks = Math.ceil(g.outPerGroup / TO);
  const colBlocks = dCeilDiv(g.outW, TP);
  const total = dMul(g.batch, g.groups * oBlocks, g.outH, colBlocks);
  const { m, store, wt } = convModule(spec, { total, oBlocks, colBlocks, groupBlocks: g.groups * oBlocks });
  const vec = f32Vec(TO);
  const weights = (at: string) => `${vec}(${Array.from({ length: TO }, (_, c) => wt.at(`w${c} + ${at}`, `ch${c}`)).join(', ')})`;
  // Padded columns contribute zero; the clamp keeps the (discarded) load in bounds.
  const columns = (indent: string) => Array.from({ length: TP }, (_, p) => [
    `${indent}let iw${p} = iwb${p === 0 ? '' : ` + ${p} * sw`};`,
    `${indent}let in${p} = iw${p} >= 0 && iw${p} < W;`,
    `${indent}let xa${p} = xr + u32(clamp(iw${p}, 0, W - 1));`,
  ]).flat();

  // A per-channel input scale multiplies the weights of that channel instead of every x read.
  const scale = spec.inputScale ? ' * f32(xs[n * u.xsB + grp * u.Cg + ci])' : '';
  const L: string[] = [];
  L.push(`  let ow0 = (i % u.colBlocks) * ${TP}u;`, '  var r = i / u.colBlocks;');
  L.push('  let oh = r % u.OH;', '  r = r / u.OH;');
  L.push('  let gb = r % u.groupBlocks;', '  let n = r / u.groupBlocks;');
  L.push('  let grp = gb / u.oBlocks;', `  let oc0 = (gb % u.oBlocks) * ${TO}u;`);
  L.push('  let kk = u.KH * u.KW;');
  // Channels past the group's end read a valid row (clamped) and are never stored.
  for (let c = 0; c < TO; c++) L.push(`  let ch${c} = grp * u.Og + min(oc0 + ${c}u, u.Og - 1u);`, `  let w${c} = ch${c} * u.Cg * kk;`);
  L.push('  let plane = u.xsC;', '  let xg = u.xOff + n * u.xsN + grp * u.Cg * plane;');
  L.push('  let H = i32(u.H);', '  let W = i32(u.W);', '  let sw = i32(u.sw);');
  for (let p = 0; p < TP; p++) L.push(`  var acc${p} = ${vec}();`);
  const rowStart = (indent: string) => [
    `${indent}let ih = i32(oh * u.sh + kh * u.dh) - i32(u.pt);`, `${indent}if (ih < 0 || ih >= H) { continue; }`,
  ];
  if (blocking.innerLoop === 'channels') {
    L.push('  for (var kh = 0u; kh < u.KH; kh++) {', ...rowStart('    '), '    let xr = xg + u32(ih) * u.xsH;');
    L.push('    for (var kw = 0u; kw < u.KW; kw++) {', '      let iwb = i32(ow0 * u.sw + kw * u.dw) - i32(u.pl);');
    L.push(...columns('      '));
    L.push('      var wk = kh * u.KW + kw;', '      var xo = 0u;');
    L.push('      for (var ci = 0u; ci < u.Cg; ci++) {', `        let wv = ${weights('wk')}${scale};`);
    for (let p = 0; p < TP; p++) L.push(`        acc${p} += select(0.0, f32(x[xa${p} + xo]), in${p}) * wv;`);
    L.push('        wk += kk;', '        xo += plane;', '      }', '    }', '  }');
  } else {
    L.push('  for (var ci = 0u; ci < u.Cg; ci++) {', '    let xc = xg + ci * plane;', '    let wc = ci * kk;');
    L.push('    for (var kh = 0u; kh < u.KH; kh++) {', ...rowStart('      '), '      let xr = xc + u32(ih) * u.xsH;', '      let wr = wc + kh * u.KW;');
    L.push('      for (var kw = 0u; kw < u.KW; kw++) {', `        let wv = ${weights('wr + kw')}${scale};`);
    L.push('        let iwb = i32(ow0 * u.sw + kw * u.dw) - i32(u.pl);', ...columns('        '));
    for (let p = 0; p < TP; p++) L.push(`        acc${p} += select(0.0, f32(x[xa${p}]), in${p}) * wv;`);
    L.push('      }', '    }', '  }');
  }
  L.push('  let ostride = u.OH * u.OW;', '  let o0 = grp * u.Og + oc0;', '  let obase = (n * u.O + o0) * ostride + oh * u.OW + ow0;');
  for (let c = 0; c < TO; c++) {
    L.push(`  if (oc0 + ${c}u < u.Og) {`);
    for (let p = 0; p < TP; p++) {
      L.push(`    if (ow0 + ${p}u < u.OW) { ${store(`obase + ${c}u * ostride + ${p}u`, `${lane(`acc${p}`, TO, c)}${biasTerm(spec, `o0 + ${c}u`)}`)} }`);
    }
    L.push('  }');
  }

  return m.flat(spec.name, CONV_WG, 'u.total', total, L);
}
