import { KilnError } from '../../ir/errors.js';
import { dCeilDiv, dMul } from '../../ir/size-expr.js';
import { biasTerm, CONV_WG, convModule, f32Vec, lane, type ConvKernelSpec } from './conv-common.js';
import type { EmittedKernel } from './kernel.js';

/** Adjacent output columns one depthwise invocation computes (one f32 vector). */
const PIXELS = 4;

/**
 * Depthwise convolution (one input channel per group; any channel multiplier): each output
 * channel reads a single input plane, so there is no channel reuse to block over. Instead each
 * invocation computes PIXELS adjacent output columns as one vector, so every weight feeds
 * PIXELS FMAs and the input row is read once per tap.
 */
export function emitConvDepthwise(spec: ConvKernelSpec): EmittedKernel {
  const g = spec.geometry;
  if (g.inPerGroup !== 1) throw new KilnError(`${spec.name}: the depthwise kernel needs one input channel per group, got ${g.inPerGroup}`);
  const colBlocks = dCeilDiv(g.outW, PIXELS);
  const total = dMul(g.batch, g.outChannels, g.outH, colBlocks);
  const { m, store, wt } = convModule(spec, { total, colBlocks });
  const V = f32Vec(PIXELS);
  const IV = `vec${PIXELS}<i32>`;

  const L: string[] = [];
  L.push(`  let ow0 = (i % u.colBlocks) * ${PIXELS}u;`, '  var r = i / u.colBlocks;');
  L.push('  let oh = r % u.OH;', '  r = r / u.OH;', '  let o = r % u.O;', '  let n = r / u.O;');
  // Output channel o of group o / Og reads input channel o / Og (channel multiplier Og).
  L.push('  let xc = u.xOff + n * u.xsN + (o / u.Og) * u.xsC;', '  let wo = o * u.KH * u.KW;');
  L.push('  let H = i32(u.H);', '  let W = i32(u.W);', '  let sw = i32(u.sw);');
  L.push(`  var acc = ${V}();`);
  L.push('  for (var kh = 0u; kh < u.KH; kh++) {');
  L.push('    let ih = i32(oh * u.sh + kh * u.dh) - i32(u.pt);');
  L.push('    if (ih < 0 || ih >= H) { continue; }');
  L.push('    let xr = xc + u32(ih) * u.xsH;');
  L.push('    for (var kw = 0u; kw < u.KW; kw++) {');
  L.push(`      let wv = ${wt.at('wo + kh * u.KW + kw', 'o')};`);
  L.push('      let iw0 = i32(ow0 * u.sw + kw * u.dw) - i32(u.pl);');
  const cols = Array.from({ length: PIXELS }, (_, p) => `iw0 + ${p} * sw`);
  L.push(`      let iw = ${IV}(${cols.join(', ')});`);
  // Padded columns contribute zero; the clamp keeps the (discarded) load in bounds.
  L.push(`      let inside = (iw >= ${IV}(0)) & (iw < ${IV}(W));`, `      let ic = clamp(iw, ${IV}(0), ${IV}(W - 1));`);
  const loads = Array.from({ length: PIXELS }, (_, p) => `f32(x[xr + u32(ic[${p}])])`);
  L.push(`      acc += select(${V}(), ${V}(${loads.join(', ')}), inside) * wv;`);
  L.push('    }', '  }');
  L.push('  let obase = ((n * u.O + o) * u.OH + oh) * u.OW + ow0;');
  for (let p = 0; p < PIXELS; p++) {
    L.push(`  if (ow0 + ${p}u < u.OW) { ${store(`obase + ${p}u`, `${lane('acc', PIXELS, p)}${biasTerm(spec, 'o')}`)} }`);
  }

  return m.flat(spec.name, CONV_WG, 'u.total', total, L);
}
